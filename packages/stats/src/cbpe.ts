import type { ArmCounts } from './armCounts.js';
import { normalQuantile, normalSf } from './distributions.js';
import type { AccuracyDropResult } from './driftTests.js';
import type { Interval } from './proportionTests.js';

/**
 * Accuracy estimated from calibrated confidences, before labels arrive (confidence-based
 * performance estimation, CBPE). If the confidence p_i of each predicted label is calibrated, the
 * prediction is right with probability p_i, so the window's accuracy is a sum of independent
 * Bernoullis: mean Σp_i/n, variance Σp_i(1 − p_i)/n². Valid only while calibration holds: a shift
 * that makes the model confidently wrong (a new category) is not seen by it.
 */
export interface AccuracyEstimate {
  /** Predictions the estimate is over. */
  readonly n: number;
  /** Σ p_i / n: the expected accuracy. */
  readonly accuracy: number;
  /** Σ p_i (1 − p_i) / n²: variance of the realised accuracy around the estimate. */
  readonly variance: number;
  /** Normal interval for the realised accuracy of these predictions, clipped to [0, 1]. */
  readonly interval: Interval;
}

/** The expected accuracy of predictions with calibrated confidences `confidence [n]`, with a normal interval at `level`. */
export function estimateAccuracy(confidence: ArrayLike<number>, level = 0.95): AccuracyEstimate {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const n = confidence.length;
  if (n === 0) throw new RangeError('estimating accuracy needs at least one prediction');
  let sum = 0;
  let varianceSum = 0;
  for (let i = 0; i < n; i++) {
    const p = confidence[i] as number;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`confidences must be in [0, 1], got ${p}`);
    sum += p;
    varianceSum += p * (1 - p);
  }
  const accuracy = sum / n;
  const variance = varianceSum / (n * n);
  const half = normalQuantile(1 - (1 - level) / 2) * Math.sqrt(variance);
  return { n, accuracy, variance, interval: { lower: Math.max(0, accuracy - half), upper: Math.min(1, accuracy + half), level } };
}

/** Which accuracy a rule acted on: the realised one (enough labels) or the estimate from confidences. */
export type AccuracyBasis = 'realised' | 'estimated';

/** An accuracy with its variance and where it came from. */
export interface WindowAccuracy {
  readonly basis: AccuracyBasis;
  readonly accuracy: number;
  readonly variance: number;
  /** Labelled outcomes (realised) or predictions (estimated) behind it. */
  readonly n: number;
}

/**
 * The accuracy a rule should act on: the realised one once `minLabelled` outcomes exist, else the
 * estimate (undefined when there is neither).
 */
export function windowAccuracy(outcomes: ArmCounts, estimate: AccuracyEstimate | undefined, minLabelled: number): WindowAccuracy | undefined {
  if (outcomes.n >= minLabelled && outcomes.n > 0) {
    const accuracy = outcomes.successes / outcomes.n;
    return { basis: 'realised', accuracy, variance: (accuracy * (1 - accuracy)) / outcomes.n, n: outcomes.n };
  }
  if (!estimate) return undefined;
  return { basis: 'estimated', accuracy: estimate.accuracy, variance: estimate.variance, n: estimate.n };
}

/**
 * Accuracy drop from a reference accuracy to a current one where either side may be an estimate:
 * one-sided z-test on the difference with the sum of the two variances, and a Wald interval.
 * Same result shape as {@link accuracyDrop}, so the drift verdict judges it on the same threshold.
 */
export function accuracyDropBetween(reference: WindowAccuracy, current: WindowAccuracy, alpha = 0.05): AccuracyDropResult {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const drop = reference.accuracy - current.accuracy;
  const se = Math.sqrt(reference.variance + current.variance);
  const z = se > 0 ? drop / se : 0;
  const half = normalQuantile(1 - alpha / 2) * se;
  return {
    test: 'accuracy_drop',
    referenceAccuracy: reference.accuracy,
    currentAccuracy: current.accuracy,
    drop,
    z,
    pValue: se > 0 ? normalSf(z) : drop > 0 ? 0 : 1,
    ci: { lower: drop - half, upper: drop + half, level: 1 - alpha },
    effectSize: { measure: 'accuracy_drop', value: drop },
  };
}
