import { assertArmCounts, rateOf, type ExperimentStats } from './armCounts.js';
import { cohensH, mixtureSequentialTest, twoProportionZTest, type Interval } from './proportionTests.js';
import { checkSampleRatio, SRM_THRESHOLD, type SampleRatioCheck } from './sampleRatioMismatch.js';

/** What to do with the challenger. */
export type Decision = 'promote' | 'reject' | 'continue';

/** `sequential` may be evaluated after every batch; `fixed` is valid for one look at a planned size. */
export type TestMethod = 'sequential' | 'fixed';

/** Closed set of reasons a decision can give. */
export type DecisionReasonCode =
  | 'sample_ratio_mismatch'
  | 'degradation'
  | 'insufficient_samples'
  | 'significant_improvement'
  | 'improvement_below_minimum'
  | 'futility'
  | 'inconclusive';

/** One reason behind a decision, with a human-readable explanation. */
export interface DecisionReason {
  readonly code: DecisionReasonCode;
  readonly message: string;
}

/** Decision rule settings. Rates and thresholds are absolute proportions: 0.02 = 2 percentage points. */
export interface ExperimentConfig {
  readonly method: TestMethod;
  /** Type-I error: P(promote | no real improvement) ≤ alpha (for `fixed`, only with a single look). */
  readonly alpha: number;
  /** Neither promotion nor futility before both arms have this many outcomes. */
  readonly minSamplePerArm: number;
  /** Promote only if the observed improvement is at least this (absolute). */
  readonly minImprovement: number;
  /** Reject as soon as the challenger is significantly worse by at least this much (absolute). */
  readonly maxDegradation: number;
  /** Mixing variance τ² of the mSPRT (sequential only), on the squared-difference scale. */
  readonly tau: number;
  /** Configured split; when given, a sample-ratio mismatch halts the experiment (decision `reject`). */
  readonly split?: { readonly challengerBp: number };
  /** SRM p-value threshold. */
  readonly srmThreshold: number;
}

/** Defaults: sequential test, alpha 0.05, 1,000 per arm, +2 points to promote, −1 point guard. */
export const DEFAULT_EXPERIMENT_CONFIG: ExperimentConfig = {
  method: 'sequential',
  alpha: 0.05,
  minSamplePerArm: 1000,
  minImprovement: 0.02,
  maxDegradation: 0.01,
  tau: 0.0025,
  srmThreshold: SRM_THRESHOLD,
};

/**
 * The degradation guard fires before `minSamplePerArm` (stopping harm early is the point of a
 * guard) but not below this many outcomes per arm, where the normal approximation is poor.
 */
export const GUARD_MIN_SAMPLE_PER_ARM = 100;

/** Effect of the challenger relative to the champion. */
export interface ExperimentEffect {
  /** rate(challenger) − rate(champion), absolute. */
  readonly difference: number;
  /** difference / rate(champion); NaN when the champion rate is 0. */
  readonly relativeLift: number;
  /** Cohen's h. */
  readonly cohensH: number;
  /** Confidence sequence (sequential) or Wald interval (fixed) for `difference`. */
  readonly ci: Interval;
}

/** Per-arm summary echoed in a decision. */
export interface ArmSummary {
  readonly n: number;
  readonly successes: number;
  readonly rate: number;
}

/** Output of {@link decideExperiment}. */
export interface ExperimentDecision {
  readonly decision: Decision;
  readonly reasons: readonly DecisionReason[];
  readonly method: TestMethod;
  readonly champion: ArmSummary;
  readonly challenger: ArmSummary;
  /** Null until both arms have at least one outcome. */
  readonly effect: ExperimentEffect | null;
  /** Two-sided p-value of "no difference" (always-valid for `sequential`); 1 when not computed. */
  readonly pValue: number;
  /** Null when no split was configured. */
  readonly srm: SampleRatioCheck | null;
}

function resolveConfig(input: Partial<ExperimentConfig>): ExperimentConfig {
  const config: ExperimentConfig = { ...DEFAULT_EXPERIMENT_CONFIG, ...input };
  const problems: string[] = [];
  if (config.method !== 'sequential' && config.method !== 'fixed') problems.push(`method must be 'sequential' or 'fixed', got ${String(config.method)}`);
  if (!(config.alpha > 0 && config.alpha < 1)) problems.push(`alpha must be in (0, 1), got ${config.alpha}`);
  if (!Number.isInteger(config.minSamplePerArm) || config.minSamplePerArm < 1) problems.push(`minSamplePerArm must be a positive integer, got ${config.minSamplePerArm}`);
  if (!(config.minImprovement >= 0 && config.minImprovement < 1)) problems.push(`minImprovement must be an absolute proportion in [0, 1), e.g. 0.02 for 2 points; got ${config.minImprovement}`);
  if (!(config.maxDegradation >= 0 && config.maxDegradation < 1)) problems.push(`maxDegradation must be an absolute proportion in [0, 1), e.g. 0.01 for 1 point; got ${config.maxDegradation}`);
  if (!(config.tau > 0 && Number.isFinite(config.tau))) problems.push(`tau (mixing variance) must be a positive number, e.g. 0.0025; got ${config.tau}`);
  if (!(config.srmThreshold > 0 && config.srmThreshold < 1)) problems.push(`srmThreshold must be in (0, 1), got ${config.srmThreshold}`);
  if (problems.length > 0) throw new RangeError(`invalid experiment config: ${problems.join('; ')}`);
  return config;
}

const pts = (x: number): string => `${(x * 100).toFixed(2)} pts`;

/**
 * Decide a champion/challenger experiment from its current counters. Rules, in order:
 * 1. SRM (when `split` is set): p < srmThreshold → `reject` (assignment is broken; fix and restart).
 * 2. Degradation guard (from 100 outcomes per arm): significantly worse and observed difference
 *    ≤ −maxDegradation → `reject`.
 * 3. Fewer than `minSamplePerArm` outcomes in an arm → `continue`.
 * 4. Significantly better at alpha and difference ≥ minImprovement → `promote`.
 * 5. CI upper bound < minImprovement → `reject`: the minimum improvement is implausible
 *    (this also ends A/A experiments).
 * 6. Otherwise `continue`.
 * With `sequential` (default) the CI is an always-valid confidence sequence, so calling this after
 * every batch keeps P(false promotion) ≤ alpha. With `fixed` it is a Wald interval: valid only for a
 * single look at a sample size planned in advance.
 */
export function decideExperiment(stats: ExperimentStats, configInput: Partial<ExperimentConfig> = {}): ExperimentDecision {
  const config = resolveConfig(configInput);
  const { champion, challenger } = stats;
  assertArmCounts(champion, 'champion');
  assertArmCounts(challenger, 'challenger');
  const summary = (c: { n: number; successes: number }): ArmSummary => ({ n: c.n, successes: c.successes, rate: rateOf(c) });
  const base = { method: config.method, champion: summary(champion), challenger: summary(challenger) };

  const srm = config.split ? checkSampleRatio(champion.n, challenger.n, config.split, config.srmThreshold) : null;
  if (srm?.halt) {
    const observed = srm.observedShares.map((s) => `${(s * 100).toFixed(1)}%`).join('/');
    const expected = srm.expectedShares.map((s) => `${(s * 100).toFixed(1)}%`).join('/');
    return {
      ...base,
      decision: 'reject',
      reasons: [{ code: 'sample_ratio_mismatch', message: `observed split ${observed} does not match configured ${expected} (p=${srm.pValue.toExponential(2)}); fix assignment and restart the experiment` }],
      effect: null,
      pValue: 1,
      srm,
    };
  }
  if (champion.n === 0 || challenger.n === 0) {
    return { ...base, decision: 'continue', reasons: [{ code: 'insufficient_samples', message: `need outcomes in both arms (champion n=${champion.n}, challenger n=${challenger.n})` }], effect: null, pValue: 1, srm };
  }

  const test = config.method === 'sequential'
    ? mixtureSequentialTest(champion, challenger, { alpha: config.alpha, tau: config.tau })
    : twoProportionZTest(champion, challenger, config.alpha);
  const d = test.difference;
  const { lower, upper } = test.ci;
  const championRate = champion.successes / champion.n;
  const effect: ExperimentEffect = {
    difference: d,
    relativeLift: championRate > 0 ? d / championRate : Number.NaN,
    cohensH: cohensH(championRate, challenger.successes / challenger.n),
    ci: test.ci,
  };
  // Sequential: "significant" means 0 is outside the confidence sequence (equivalently the
  // always-valid p < alpha). Fixed: the pooled z-test.
  const significantlyBetter = config.method === 'sequential' ? lower > 0 : test.pValue < config.alpha && d > 0;
  const significantlyWorse = config.method === 'sequential' ? upper < 0 : test.pValue < config.alpha && d < 0;
  const decided = (decision: Decision, code: DecisionReasonCode, message: string): ExperimentDecision =>
    ({ ...base, decision, reasons: [{ code, message }], effect, pValue: test.pValue, srm });
  const ci = `CI [${pts(lower)}, ${pts(upper)}]`;

  const guardFloor = Math.min(GUARD_MIN_SAMPLE_PER_ARM, config.minSamplePerArm);
  if (champion.n >= guardFloor && challenger.n >= guardFloor && significantlyWorse && d <= -config.maxDegradation) {
    return decided('reject', 'degradation', `challenger is significantly worse by ${pts(-d)} (guard ${pts(config.maxDegradation)}), ${ci}`);
  }
  if (champion.n < config.minSamplePerArm || challenger.n < config.minSamplePerArm) {
    return decided('continue', 'insufficient_samples', `need ${config.minSamplePerArm} outcomes per arm (champion ${champion.n}, challenger ${challenger.n})`);
  }
  if (significantlyBetter && d >= config.minImprovement) {
    return decided('promote', 'significant_improvement', `challenger is better by ${pts(d)} ≥ ${pts(config.minImprovement)}, ${ci}, p=${test.pValue.toPrecision(3)}`);
  }
  if (upper < config.minImprovement) {
    return significantlyBetter
      ? decided('reject', 'improvement_below_minimum', `challenger is better, but by less than the minimum ${pts(config.minImprovement)}: ${ci}`)
      : decided('reject', 'futility', `an improvement of ${pts(config.minImprovement)} is implausible: ${ci}`);
  }
  return decided('continue', 'inconclusive', `difference ${pts(d)}, ${ci}, p=${test.pValue.toPrecision(3)}`);
}
