import { assertSplit, BASIS_POINTS, type TrafficSplit } from './assignVariant.js';
import { chiSquareSf } from './distributions.js';

/** Result of a sample-ratio-mismatch check (chi-square goodness of fit of arm counts to the split). */
export interface SampleRatioCheck {
  readonly test: 'srm_chi_square';
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  readonly observedShares: readonly number[];
  readonly expectedShares: readonly number[];
  /** True when pValue < threshold: assignment is broken, so no comparison between arms can be trusted. */
  readonly halt: boolean;
}

/** Default SRM threshold: halting is costly, so only a very surprising imbalance halts. */
export const SRM_THRESHOLD = 0.001;

/**
 * Below this many expected units in an arm the chi-square approximation overstates significance
 * (10 units at 90/10 with 5 on the challenger: chi-square p = 2.5e-5, exact binomial p = 0.0016),
 * so a mismatch is reported but does not halt until every arm expects at least this many.
 */
export const SRM_MIN_EXPECTED = 5;

/**
 * Chi-square goodness-of-fit of observed per-arm counts against the configured shares
 * (any number of arms; shares are normalised). Halts when p < `threshold` (default 0.001).
 * An arm with a configured share of 0 that received traffic is an infinite mismatch.
 */
export function sampleRatioMismatch(observed: readonly number[], expectedShares: readonly number[], threshold = SRM_THRESHOLD): SampleRatioCheck {
  if (observed.length !== expectedShares.length || observed.length < 2) {
    throw new RangeError(`need one expected share per arm and at least 2 arms, got ${observed.length} counts and ${expectedShares.length} shares`);
  }
  if (observed.some((c) => !Number.isInteger(c) || c < 0)) throw new RangeError(`observed counts must be non-negative integers, got [${observed.join(', ')}]`);
  if (expectedShares.some((s) => !(s >= 0) || !Number.isFinite(s))) throw new RangeError(`expected shares must be finite and ≥ 0, got [${expectedShares.join(', ')}]`);
  const shareTotal = expectedShares.reduce((s, x) => s + x, 0);
  if (!(shareTotal > 0)) throw new RangeError('expected shares must not all be 0');
  const shares = expectedShares.map((s) => s / shareTotal);
  const total = observed.reduce((s, x) => s + x, 0);
  const observedShares = observed.map((c) => (total > 0 ? c / total : 0));
  let chiSquare = 0;
  let cells = 0;
  let impossible = false;
  let minExpected = Number.POSITIVE_INFINITY;
  for (let i = 0; i < observed.length; i++) {
    const expected = total * (shares[i] ?? 0);
    const count = observed[i] ?? 0;
    if (expected === 0) {
      if (count > 0) impossible = true;
      continue;
    }
    cells += 1;
    minExpected = Math.min(minExpected, expected);
    chiSquare += ((count - expected) ** 2) / expected;
  }
  if (impossible) chiSquare = Number.POSITIVE_INFINITY;
  const df = Math.max(1, cells - 1);
  const pValue = total === 0 ? 1 : chiSquareSf(chiSquare, df);
  // Traffic on an arm configured at 0 % is broken at any sample size; otherwise wait for enough units.
  const halt = pValue < threshold && (impossible || minExpected >= SRM_MIN_EXPECTED);
  return { test: 'srm_chi_square', chiSquare, df, pValue, observedShares, expectedShares: shares, halt };
}

/** SRM check of a champion/challenger experiment against its {@link TrafficSplit}. */
export function checkSampleRatio(championCount: number, challengerCount: number, split: TrafficSplit, threshold = SRM_THRESHOLD): SampleRatioCheck {
  assertSplit(split);
  return sampleRatioMismatch([championCount, challengerCount], [BASIS_POINTS - split.challengerBp, split.challengerBp], threshold);
}
