import type { ArmCounts } from './armCounts.js';
import type { CalibratedThreshold } from './calibrateThresholds.js';
import {
  accuracyDrop,
  chiSquareHomogeneity,
  kolmogorovSmirnovSorted,
  sortFinite,
  populationStabilityIndex,
  psiLevel,
  type AccuracyDropResult,
  type ChiSquareResult,
  type EffectMeasure,
  type KsResult,
  type PsiResult,
} from './driftTests.js';
import { alignCategories, histogram, quantileEdgesSorted } from './histogram.js';
import { empiricalPValue, type MmdResult } from './mmd.js';

/** Any drift test result. */
export type DriftTestResult = PsiResult | KsResult | ChiSquareResult | AccuracyDropResult | MmdResult;

/** A test result about one monitored quantity (a feature, the label distribution, accuracy …). */
export interface DriftSignal {
  readonly feature: string;
  readonly result: DriftTestResult;
  /**
   * A threshold calibrated on the reference for this statistic (calibrateThresholds). When set it
   * replaces the fixed threshold of the test, never below the effect floor of its measure, and its
   * null distribution gives the p-value (the calibration is the test at its alpha).
   */
  readonly threshold?: CalibratedThreshold | undefined;
}

/** Drift severity. */
export type DriftLevel = 'none' | 'warn' | 'significant';

/**
 * Effect-size thresholds (primary) and the p-value threshold (secondary). With 100,000 events every
 * p-value is tiny, so a verdict is never taken on the p-value alone.
 */
export interface DriftThresholds {
  /** A finding also needs p < alpha, so small windows cannot trigger on noise. */
  readonly alpha: number;
  readonly psiWarn: number;
  readonly psiSignificant: number;
  /** KS D at or above this is significant drift of a numeric feature. */
  readonly ksStatistic: number;
  /** Cramér's V at or above this is significant drift of a categorical distribution. */
  readonly cramersV: number;
  /** Accuracy drop (absolute) at or above this is concept drift: 0.05 = 5 points. */
  readonly accuracyDrop: number;
  /** MMD effect size (distance of mean embeddings) that is significant when no calibrated threshold is given. */
  readonly mmd: number;
  /**
   * The least effect size that may alarm when a calibrated threshold is used: with a huge window
   * the calibrated threshold shrinks towards 0, and a negligible shift must not become an alarm.
   */
  readonly floors: Readonly<Record<EffectMeasure, number>>;
}

/** Default effect floors under calibrated thresholds: PSI 0.05, KS D 0.05, Cramér's V 0.05, accuracy 2 points, MMD 0.02. */
export const DEFAULT_EFFECT_FLOORS: Readonly<Record<EffectMeasure, number>> = { psi: 0.05, ks_d: 0.05, cramers_v: 0.05, accuracy_drop: 0.02, mmd: 0.02 };

/** Defaults: PSI 0.1/0.25, KS D 0.1, Cramér's V 0.1, accuracy drop 5 points, alpha 0.01. */
export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  alpha: 0.01,
  psiWarn: 0.1,
  psiSignificant: 0.25,
  ksStatistic: 0.1,
  cramersV: 0.1,
  accuracyDrop: 0.05,
  mmd: 0.05,
  floors: DEFAULT_EFFECT_FLOORS,
};

/** How one signal was judged. */
export interface DriftFinding {
  readonly feature: string;
  readonly test: DriftTestResult['test'];
  readonly effectSize: number;
  /** Effect size at which this test counts as significant drift. */
  readonly threshold: number;
  readonly pValue: number;
  readonly level: DriftLevel;
  readonly reason: string;
}

/** Overall verdict: the worst finding's level. */
export interface DriftVerdict {
  readonly level: DriftLevel;
  /** level === 'significant'. */
  readonly drifted: boolean;
  readonly findings: readonly DriftFinding[];
}

function judge(signal: DriftSignal, t: DriftThresholds): DriftFinding {
  const { result } = signal;
  const effect = result.effectSize.value;
  if (signal.threshold) return judgeCalibrated(signal, signal.threshold, t);
  let threshold: number;
  let byEffect: DriftLevel;
  switch (result.test) {
    case 'psi':
      threshold = t.psiSignificant;
      byEffect = psiLevel(effect, { warn: t.psiWarn, significant: t.psiSignificant });
      break;
    case 'ks':
      threshold = t.ksStatistic;
      byEffect = effect >= threshold ? 'significant' : 'none';
      break;
    case 'chi_square':
      threshold = t.cramersV;
      byEffect = effect >= threshold ? 'significant' : 'none';
      break;
    case 'accuracy_drop':
      threshold = t.accuracyDrop;
      byEffect = effect >= threshold ? 'significant' : 'none';
      break;
    case 'mmd':
      threshold = t.mmd;
      byEffect = effect >= threshold ? 'significant' : 'none';
      break;
    default: {
      const unknown: never = result;
      throw new RangeError(`unknown drift test ${JSON.stringify(unknown)}`);
    }
  }
  const base = { feature: signal.feature, test: result.test, effectSize: effect, threshold, pValue: result.pValue };
  const effectText = `${result.effectSize.measure}=${effect.toPrecision(3)}`;
  if (byEffect === 'none') return { ...base, level: 'none', reason: `${effectText} below threshold ${threshold}` };
  if (!(result.pValue < t.alpha)) {
    return { ...base, level: 'none', reason: `${effectText} is over its threshold but not significant (p=${result.pValue.toPrecision(3)} ≥ ${t.alpha}); window too small to tell` };
  }
  return { ...base, level: byEffect, reason: `${effectText} ≥ ${byEffect === 'warn' ? t.psiWarn : threshold} with p=${result.pValue.toPrecision(3)}` };
}

/** A calibrated threshold already holds false alarms to its alpha: no second p-value requirement. */
function judgeCalibrated(signal: DriftSignal, calibrated: CalibratedThreshold, t: DriftThresholds): DriftFinding {
  const { result } = signal;
  const effect = result.effectSize.value;
  const floor = t.floors[result.effectSize.measure];
  const threshold = Math.max(calibrated.value, floor);
  const pValue = empiricalPValue(calibrated.nulls, effect);
  const base = { feature: signal.feature, test: result.test, effectSize: effect, threshold, pValue };
  const effectText = `${result.effectSize.measure}=${effect.toPrecision(3)}`;
  const source = calibrated.value >= floor ? `calibrated threshold (α=${calibrated.alpha}, ${calibrated.windowSize}-row windows)` : 'effect floor';
  if (effect >= threshold) return { ...base, level: 'significant', reason: `${effectText} ≥ ${source} ${threshold.toPrecision(3)}` };
  return { ...base, level: 'none', reason: `${effectText} below ${source} ${threshold.toPrecision(3)}` };
}

const RANK: Record<DriftLevel, number> = { none: 0, warn: 1, significant: 2 };

/**
 * Decide drift on effect size first: PSI level, KS D, Cramér's V and accuracy drop must reach their
 * thresholds, and the test must also be significant at `alpha` (secondary). This keeps huge windows
 * from flagging negligible shifts and small windows from flagging noise.
 */
export function driftVerdict(signals: readonly DriftSignal[], thresholds: Partial<DriftThresholds> = {}): DriftVerdict {
  const t: DriftThresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...thresholds };
  if (!(t.alpha > 0 && t.alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${t.alpha}`);
  if (!(t.psiWarn <= t.psiSignificant)) throw new RangeError(`psiWarn (${t.psiWarn}) must not exceed psiSignificant (${t.psiSignificant})`);
  const findings = signals.map((s) => judge(s, t));
  const level = findings.reduce<DriftLevel>((worst, f) => (RANK[f.level] > RANK[worst] ? f.level : worst), 'none');
  return { level, drifted: level === 'significant', findings };
}

/** A numeric reference window prepared once and compared with many current windows. */
export interface NumericReference {
  /** Reference values, ascending, without NaN. */
  readonly sorted: Float64Array;
  /** Quantile bucket edges of the reference. */
  readonly edges: readonly number[];
  /** Reference counts over `edges`. */
  readonly counts: readonly number[];
}

/** Sorts a numeric reference window and fixes its quantile buckets (default 10). */
export function numericReference(values: ArrayLike<number>, buckets = 10): NumericReference {
  const sorted = sortFinite(values);
  const edges = quantileEdgesSorted(sorted, buckets);
  return { sorted, edges, counts: histogram(sorted, edges) };
}

/**
 * PSI over the reference's quantile buckets plus a two-sample KS test, for a numeric feature
 * (text length, OOV rate, confidence …). Pass a {@link NumericReference} to avoid re-sorting a
 * fixed reference at every evaluation.
 */
export function compareNumeric(
  feature: string,
  reference: ArrayLike<number> | NumericReference,
  current: ArrayLike<number>,
  options: { buckets?: number; epsilon?: number } = {},
): DriftSignal[] {
  const ref = isNumericReference(reference) ? reference : numericReference(reference, options.buckets ?? 10);
  const psiOptions = options.epsilon === undefined ? {} : { epsilon: options.epsilon };
  const currentSorted = sortFinite(current);
  return [
    { feature, result: populationStabilityIndex(ref.counts, histogram(currentSorted, ref.edges), psiOptions) },
    { feature, result: kolmogorovSmirnovSorted(ref.sorted, currentSorted) },
  ];
}

function isNumericReference(x: ArrayLike<number> | NumericReference): x is NumericReference {
  return 'sorted' in x && 'edges' in x && 'counts' in x;
}

/** PSI plus a chi-square homogeneity test over the same buckets (hashed-feature buckets, labels …). */
export function compareCounts(feature: string, reference: readonly number[], current: readonly number[], options: { epsilon?: number } = {}): DriftSignal[] {
  return [
    { feature, result: populationStabilityIndex(reference, current, options) },
    { feature, result: chiSquareHomogeneity([reference, current]) },
  ];
}

/** {@link compareCounts} for category count maps (e.g. predicted labels), aligned over the union of categories. */
export function compareCategories(
  feature: string,
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
  options: { epsilon?: number } = {},
): DriftSignal[] {
  const aligned = alignCategories(reference, current);
  return compareCounts(feature, aligned.reference, aligned.current, options);
}

/** Accuracy-drop signal from labelled outcomes in the reference and current windows. */
export function compareAccuracy(feature: string, reference: ArmCounts, current: ArmCounts): DriftSignal {
  return { feature, result: accuracyDrop(reference, current) };
}
