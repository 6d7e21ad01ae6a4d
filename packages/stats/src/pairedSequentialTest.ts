import { logGamma } from './distributions.js';
import type { Interval } from './proportionTests.js';

/**
 * Counters of a paired comparison: both models scored the same items, and each labelled item falls
 * in one cell of McNemar's 2×2 table. Only the discordant cells carry information about which is better.
 */
export interface PairedCounts {
  /** Both right. */
  readonly bothRight: number;
  /** Champion right, challenger wrong (McNemar's b). */
  readonly championOnly: number;
  /** Challenger right, champion wrong (McNemar's c). */
  readonly challengerOnly: number;
  /** Both wrong. */
  readonly bothWrong: number;
}

/** Result of {@link pairedSequentialTest}. */
export interface PairedSequentialTest {
  readonly test: 'sequential_mcnemar';
  /** Labelled pairs (all four cells). */
  readonly pairs: number;
  /** b + c. */
  readonly discordant: number;
  /** accuracy(challenger) − accuracy(champion) = (c − b) / pairs; 0 when there are no pairs. */
  readonly difference: number;
  /** ln Λ: log mixture likelihood ratio of the discordant pairs against "a fair coin". */
  readonly logLikelihoodRatio: number;
  /** Always-valid two-sided p-value min(1, 1/Λ): stays valid however often it is looked at. */
  readonly pValue: number;
  /** Confidence sequence for q = P(a discordant pair favours the challenger). */
  readonly shareCi: Interval;
  /**
   * Confidence sequence for `difference` = r·(2q − 1), r the disagreement rate: from confidence
   * sequences for q and r at alpha/2 each, so it holds at every look ([−1, 1] without pairs).
   */
  readonly ci: Interval;
  /** The Beta(a, a) mixing parameter that was used. */
  readonly mixing: number;
}

/** Throws a RangeError that says what is wrong when a cell is not a non-negative integer. */
export function assertPairedCounts(p: PairedCounts): void {
  for (const [name, v] of Object.entries(p)) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`paired counter ${name} must be a non-negative integer, got ${String(v)}`);
  }
}

const logBeta = (x: number, y: number): number => logGamma(x) + logGamma(y) - logGamma(x + y);

/** ln Λ(q0) for c successes and b failures under a Beta(a, a) mixture; convex in q0, smallest at c/(b+c). */
const logMixtureRatio = (logMarginal: number, c: number, b: number, q0: number): number =>
  logMarginal - ((c > 0 ? c * Math.log(q0) : 0) + (b > 0 ? b * Math.log(1 - q0) : 0));

/**
 * Confidence sequence {p0 : Λ_n(p0) < 1/α} for a Bernoulli parameter after `s` successes and `f`
 * failures, under a Beta(a, a) mixture. ln Λ is convex in p0 and ≤ 0 at the maximum-likelihood
 * value, so the set is one interval around it; each edge is found by bisection (an end with no
 * observation against it stays open).
 */
const mixtureInterval = (s: number, f: number, a: number, alpha: number): { lower: number; upper: number } => {
  const logMarginal = logBeta(s + a, f + a) - logBeta(a, a);
  const threshold = Math.log(1 / alpha);
  const inside = (p0: number): boolean => logMixtureRatio(logMarginal, s, f, p0) < threshold;
  const edge = (from: number, to: number): number => {
    let kept = from;
    let out = to;
    for (let i = 0; i < 50; i++) {
      const mid = (kept + out) / 2;
      if (inside(mid)) kept = mid;
      else out = mid;
    }
    return kept;
  };
  const mle = s + f > 0 ? s / (s + f) : 0.5;
  return { lower: s === 0 ? 0 : edge(mle, 0), upper: f === 0 ? 1 : edge(mle, 1) };
};

/**
 * Sequential McNemar test. Under H0 (both models equally accurate) each discordant pair favours
 * the challenger with probability 1/2, whatever the agreement rate. Mixing the alternative over
 * q ~ Beta(a, a) gives the likelihood ratio
 *   Λ_n = B(c + a, b + a) / B(a, a) / (q0^c (1 − q0)^b),   q0 = 1/2 for the test,
 * a non-negative martingale under H0, so by Ville's inequality P(∃n: Λ_n ≥ 1/α) ≤ α: the p-value
 * 1/Λ and the confidence sequence {q0 : Λ_n(q0) < 1/α} stay valid under continuous looking. Exact
 * (no normal approximation), so it is valid from the first discordant pair.
 * `mixing` = a: 2 puts the prior's spread (sd ≈ 0.22 around 1/2) on the shares a real improvement
 * gives when most answers agree (a 5-point lift with 9 % disagreement is q ≈ 0.78).
 */
export function pairedSequentialTest(p: PairedCounts, options: { alpha?: number; mixing?: number } = {}): PairedSequentialTest {
  const alpha = options.alpha ?? 0.05;
  const a = options.mixing ?? 2;
  assertPairedCounts(p);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(a > 0 && Number.isFinite(a))) throw new RangeError(`mixing (Beta parameter) must be a positive number, e.g. 2; got ${a}`);
  const b = p.championOnly;
  const c = p.challengerOnly;
  const discordant = b + c;
  const pairs = p.bothRight + p.bothWrong + discordant;
  const difference = pairs > 0 ? (c - b) / pairs : 0;
  // ln of the mixture's marginal likelihood B(c + a, b + a) / B(a, a): the same for every q0.
  const logMarginal = logBeta(c + a, b + a) - logBeta(a, a);
  const logLikelihoodRatio = logMixtureRatio(logMarginal, c, b, 0.5);
  const share = mixtureInterval(c, b, a, alpha);
  // The difference is r·(2q − 1) with r = P(disagree): a confidence sequence for each at alpha/2
  // (union bound) bounds it at every look, including the uncertainty in r (a few pairs say little
  // about how often the models disagree). r mixes over a uniform Beta(1, 1).
  const half = alpha / 2;
  const shareHalf = mixtureInterval(c, b, a, half);
  const rate = mixtureInterval(discordant, pairs - discordant, 1, half);
  const lowerSlope = 2 * shareHalf.lower - 1;
  const upperSlope = 2 * shareHalf.upper - 1;
  const ci: Interval = {
    lower: lowerSlope < 0 ? rate.upper * lowerSlope : rate.lower * lowerSlope,
    upper: upperSlope > 0 ? rate.upper * upperSlope : rate.lower * upperSlope,
    level: 1 - alpha,
  };
  return {
    test: 'sequential_mcnemar',
    pairs,
    discordant,
    difference,
    logLikelihoodRatio,
    pValue: Math.min(1, Math.exp(-logLikelihoodRatio)),
    shareCi: { ...share, level: 1 - alpha },
    ci,
    mixing: a,
  };
}
