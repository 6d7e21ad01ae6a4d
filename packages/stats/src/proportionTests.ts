import { assertArmCounts, type ArmCounts } from './armCounts.js';
import { normalQuantile, normalSf } from './distributions.js';

/** A two-sided interval for a difference of proportions, at confidence `level` (= 1 − alpha). */
export interface Interval {
  readonly lower: number;
  readonly upper: number;
  readonly level: number;
}

/** Pooled two-proportion z-test of B against A, for a single pre-planned look. */
export interface TwoProportionZTest {
  readonly test: 'two_proportion_z';
  /** rate(B) − rate(A), absolute (0.02 = 2 percentage points). */
  readonly difference: number;
  /** (rate(B) − rate(A)) / pooled standard error; 0 when the pooled rate is 0 or 1. */
  readonly z: number;
  /** Two-sided p-value of H0: rate(A) = rate(B). */
  readonly pValue: number;
  /** Wald interval for the difference (unpooled, smoothed variance). */
  readonly ci: Interval;
}

/** Mixture sequential probability ratio test (mSPRT) of B against A: valid under continuous monitoring. */
export interface MixtureSequentialTest {
  readonly test: 'mixture_sprt';
  /** rate(B) − rate(A), absolute. */
  readonly difference: number;
  /** ln Λ at θ0 = 0: the log mixture likelihood ratio against "no difference". */
  readonly logLikelihoodRatio: number;
  /**
   * Always-valid two-sided p-value min(1, 1/Λ): P(ever below alpha | H0) ≤ alpha however often it
   * is looked at. Stateless; a caller that keeps history may take the running minimum.
   */
  readonly pValue: number;
  /** Confidence sequence: covers the true difference at every sample size simultaneously w.p. ≥ level. */
  readonly ci: Interval;
  /** Mixing variance τ² that was used. */
  readonly tau: number;
}

/**
 * Variance of rate(B) − rate(A) from rates smoothed by half a success (Agresti–Caffo style), so
 * that arms at 0 % or 100 % still have a positive variance and intervals never collapse to a point.
 */
export function differenceVariance(a: ArmCounts, b: ArmCounts): number {
  const pa = (a.successes + 0.5) / (a.n + 1);
  const pb = (b.successes + 0.5) / (b.n + 1);
  return (pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n;
}

function assertBoth(a: ArmCounts, b: ArmCounts): void {
  assertArmCounts(a, 'first arm');
  assertArmCounts(b, 'second arm');
  if (a.n === 0 || b.n === 0) throw new RangeError(`both arms need at least one observation, got n=${a.n} and n=${b.n}`);
}

function assertAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
}

/**
 * Pooled two-proportion z-test of B against A (classic fixed-horizon test). Valid for ONE look at a
 * sample size fixed in advance; repeated looks inflate false positives (use {@link mixtureSequentialTest}).
 */
export function twoProportionZTest(a: ArmCounts, b: ArmCounts, alpha = 0.05): TwoProportionZTest {
  assertBoth(a, b);
  assertAlpha(alpha);
  const difference = b.successes / b.n - a.successes / a.n;
  const pooled = (a.successes + b.successes) / (a.n + b.n);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  const z = pooledSe > 0 ? difference / pooledSe : 0;
  const halfWidth = normalQuantile(1 - alpha / 2) * Math.sqrt(differenceVariance(a, b));
  return {
    test: 'two_proportion_z',
    difference,
    z,
    pValue: Math.min(1, 2 * normalSf(Math.abs(z))),
    ci: { lower: difference - halfWidth, upper: difference + halfWidth, level: 1 - alpha },
  };
}

/**
 * Mixture SPRT for the difference of two proportions (Johari, Pekelis & Walsh, "Always valid
 * inference", 2017/2022) under the normal approximation: with V = Var(rate(B) − rate(A)) and a
 * N(θ0, τ²) mixture over the true difference,
 *   Λ(θ0) = √(V / (V + τ²)) · exp(τ² (d − θ0)² / (2 V (V + τ²))).
 * By Ville's inequality P(∃n: Λ_n(θ) ≥ 1/α) ≤ α, so the p-value 1/Λ(0) and the confidence
 * sequence {θ0 : Λ(θ0) < 1/α} stay valid however often they are evaluated.
 * τ² should be on the scale of effects worth detecting: 0.0025 (an effect sd of 5 points) is tuned
 * for 2–5 point effects at 1,000–10,000 samples per arm.
 */
export function mixtureSequentialTest(a: ArmCounts, b: ArmCounts, options: { alpha?: number; tau?: number } = {}): MixtureSequentialTest {
  const alpha = options.alpha ?? 0.05;
  const tau = options.tau ?? 0.0025;
  assertBoth(a, b);
  assertAlpha(alpha);
  if (!(tau > 0 && Number.isFinite(tau))) throw new RangeError(`tau (mixing variance) must be a positive number, got ${tau}`);
  const difference = b.successes / b.n - a.successes / a.n;
  const v = differenceVariance(a, b);
  const logRatioOfVariances = Math.log((v + tau) / v);
  const logLikelihoodRatio = -0.5 * logRatioOfVariances + (tau * difference * difference) / (2 * v * (v + tau));
  const halfWidth = Math.sqrt(((v * (v + tau)) / tau) * (2 * Math.log(1 / alpha) + logRatioOfVariances));
  return {
    test: 'mixture_sprt',
    difference,
    logLikelihoodRatio,
    pValue: Math.min(1, Math.exp(-logLikelihoodRatio)),
    ci: { lower: difference - halfWidth, upper: difference + halfWidth, level: 1 - alpha },
    tau,
  };
}

/** Cohen's h effect size for two proportions: 2·asin(√pB) − 2·asin(√pA) (0.2 small, 0.5 medium). */
export function cohensH(rateA: number, rateB: number): number {
  return 2 * Math.asin(Math.sqrt(rateB)) - 2 * Math.asin(Math.sqrt(rateA));
}
