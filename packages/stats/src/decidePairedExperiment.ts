import type { Decision, DecisionReason, DecisionReasonCode } from './decideExperiment.js';
import { pairedSequentialTest, type PairedCounts, type PairedSequentialTest } from './pairedSequentialTest.js';

/** Settings of the paired (shadow) decision rule. Rates are absolute proportions: 0.02 = 2 points. */
export interface PairedExperimentConfig {
  readonly alpha: number;
  /**
   * Neither promotion nor futility before this many labelled pairs. Lower than the unpaired rule's
   * 1,000 per arm: the test is exact, so the floor only guards the discordant-rate estimate.
   */
  readonly minPairs: number;
  readonly minImprovement: number;
  readonly maxDegradation: number;
  /** Beta(a, a) mixing parameter of the sequential McNemar test. */
  readonly mixing: number;
}

/** Defaults: alpha 0.05, 200 labelled pairs, +2 points to promote, −1 point guard, Beta(2, 2) mixture. */
export const DEFAULT_PAIRED_CONFIG: PairedExperimentConfig = {
  alpha: 0.05,
  minPairs: 200,
  minImprovement: 0.02,
  maxDegradation: 0.01,
  mixing: 2,
};

/** Output of {@link decidePairedExperiment}. */
export interface PairedDecision {
  readonly decision: Decision;
  readonly reasons: readonly DecisionReason[];
  readonly test: PairedSequentialTest;
  /** Labelled accuracy of each model over the same pairs; NaN without pairs. */
  readonly championRate: number;
  readonly challengerRate: number;
}

const resolve = (input: Partial<PairedExperimentConfig>): PairedExperimentConfig => {
  const c = { ...DEFAULT_PAIRED_CONFIG, ...input };
  const problems: string[] = [];
  if (!(c.alpha > 0 && c.alpha < 1)) problems.push(`alpha must be in (0, 1), got ${c.alpha}`);
  if (!Number.isInteger(c.minPairs) || c.minPairs < 1) problems.push(`minPairs must be a positive integer, got ${c.minPairs}`);
  if (!(c.minImprovement >= 0 && c.minImprovement < 1)) problems.push(`minImprovement must be in [0, 1), e.g. 0.02 for 2 points; got ${c.minImprovement}`);
  if (!(c.maxDegradation >= 0 && c.maxDegradation < 1)) problems.push(`maxDegradation must be in [0, 1), e.g. 0.01 for 1 point; got ${c.maxDegradation}`);
  if (!(c.mixing > 0 && Number.isFinite(c.mixing))) problems.push(`mixing must be a positive number, e.g. 2; got ${c.mixing}`);
  if (problems.length > 0) throw new RangeError(`invalid paired experiment config: ${problems.join('; ')}`);
  return c;
};

const pts = (x: number): string => `${(x * 100).toFixed(2)} pts`;
/** Below this many pairs the degradation guard does not fire either (a handful of pairs says little about the disagreement rate). */
const GUARD_MIN_PAIRS = 100;

/**
 * Decides a champion/challenger comparison where both scored the same labelled items (a shadow
 * test). Same rules, in the same order, as decideExperiment, on the sequential McNemar test:
 * degradation guard (from 100 pairs) → `reject`; fewer than `minPairs` → `continue`; significantly
 * better by at least `minImprovement` → `promote`; upper bound below `minImprovement` → `reject`;
 * else `continue`. Valid when evaluated after every batch (always-valid p-value).
 */
export function decidePairedExperiment(counts: PairedCounts, configInput: Partial<PairedExperimentConfig> = {}): PairedDecision {
  const config = resolve(configInput);
  const test = pairedSequentialTest(counts, { alpha: config.alpha, mixing: config.mixing });
  const championRate = test.pairs > 0 ? (counts.bothRight + counts.championOnly) / test.pairs : Number.NaN;
  const challengerRate = test.pairs > 0 ? (counts.bothRight + counts.challengerOnly) / test.pairs : Number.NaN;
  const decided = (decision: Decision, code: DecisionReasonCode, message: string): PairedDecision =>
    ({ decision, reasons: [{ code, message }], test, championRate, challengerRate });
  const d = test.difference;
  const significant = test.pValue < config.alpha;
  const tally = `b=${counts.championOnly} champion-only right, c=${counts.challengerOnly} challenger-only right of ${test.pairs} pairs`;
  const ci = `CI [${pts(test.ci.lower)}, ${pts(test.ci.upper)}]`;

  if (test.pairs >= Math.min(GUARD_MIN_PAIRS, config.minPairs) && significant && d < 0 && d <= -config.maxDegradation) {
    return decided('reject', 'degradation', `challenger is significantly worse by ${pts(-d)} on the same items (guard ${pts(config.maxDegradation)}); ${tally}, p=${test.pValue.toPrecision(3)}`);
  }
  if (test.pairs < config.minPairs) {
    return decided('continue', 'insufficient_samples', `need ${config.minPairs} labelled pairs (have ${test.pairs})`);
  }
  if (significant && d > 0 && d >= config.minImprovement) {
    return decided('promote', 'significant_improvement', `challenger is better by ${pts(d)} ≥ ${pts(config.minImprovement)} on the same items; ${tally}, ${ci}, p=${test.pValue.toPrecision(3)}`);
  }
  if (test.ci.upper < config.minImprovement) {
    return significant && d > 0
      ? decided('reject', 'improvement_below_minimum', `challenger is better, but by less than the minimum ${pts(config.minImprovement)}: ${ci}`)
      : decided('reject', 'futility', `an improvement of ${pts(config.minImprovement)} is implausible: ${ci}; ${tally}`);
  }
  return decided('continue', 'inconclusive', `difference ${pts(d)}, ${ci}, p=${test.pValue.toPrecision(3)}; ${tally}`);
}
