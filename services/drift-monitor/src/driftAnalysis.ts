import type { DriftMeasurement } from '@flywheel/contracts';
import type { FeatureBatch } from '@flywheel/learning';
import {
  accuracyDropBetween,
  compareAccuracy,
  compareCategories,
  compareCounts,
  compareNumeric,
  driftVerdict,
  EmbeddingSum,
  estimateAccuracy,
  mmdTest,
  numericReference,
  DEFAULT_EFFECT_FLOORS,
  type AccuracyBasis,
  type AccuracyEstimate,
  type ArmCounts,
  type EffectMeasure,
  type DriftLevel,
  type DriftSignal,
  type DriftThresholds,
  type NumericReference,
  type WindowAccuracy,
} from '@flywheel/stats';
import { createTextEmbedder, oovRate, TEXT_EMBEDDING_DIMS, tokenBucket, tokenize } from './textFeatures.js';
import { buildTextReference, textThresholds, type LabelledText, type TextCalibration, type TextReference } from './textReference.js';

/** What the monitor keeps of one prediction. */
export interface Observation {
  text: string;
  label: string;
  confidence: number;
  /** Serving's own OOV rate against the training vocabulary, when it reports one. */
  servingOovRate?: number | undefined;
}

/** Counters of labelled outcomes (mutable while a window is open). */
export interface Outcomes {
  n: number;
  successes: number;
}

/** Where a reference's text and label distributions came from (reported with every window). */
export type ReferenceSource = 'training_snapshot' | 'predictions';

/**
 * A version's reference distributions. The text part is fixed once built; the prediction part
 * (confidence, serving's OOV rate, outcomes) comes from the version's first predictions and is
 * undefined until enough of them were seen, because a training snapshot has no confidences.
 */
export interface Reference extends TextReference {
  source: ReferenceSource;
  confidence: NumericReference | undefined;
  servingOovRate: NumericReference | undefined;
  /**
   * Predicted labels of the first predictions. The training label distribution is kept in
   * `labels` but not used as the reference for predicted labels: trainers reshape it on purpose
   * (rows capped per label, class-balanced replay), so it is not the traffic's label mix.
   */
  predictedLabels: Map<string, number> | undefined;
  outcomes: Outcomes;
}

/**
 * Collects the first `target` predictions of a version: the prediction part of its reference
 * (confidence, serving's OOV rate, accuracy), and, when the training snapshot could not be read,
 * the text part too (`buildFromPredictions`).
 */
export class ReferenceBuilder {
  private readonly observations: Observation[] = [];
  readonly outcomes: Outcomes = { n: 0, successes: 0 };
  constructor(readonly target: number, private readonly buckets: number) {}

  get size(): number {
    return this.observations.length;
  }

  add(o: Observation): void {
    this.observations.push(o);
  }

  get full(): boolean {
    return this.observations.length >= this.target;
  }

  /**
   * Fills the prediction part of a snapshot-based reference (confidence has no snapshot reference).
   * Outcomes of these predictions are counted on `ref.outcomes` directly by the caller.
   */
  completePredictionPart(ref: Reference): void {
    const p = this.predictionPart();
    ref.confidence = p.confidence;
    ref.servingOovRate = p.servingOovRate;
    ref.predictedLabels = p.predictedLabels;
  }

  /** The whole reference from predictions alone (fallback when the training snapshot is missing). */
  build(): Reference {
    return { source: 'predictions', ...buildTextReference(this.observations, this.buckets), ...this.predictionPart(), outcomes: this.outcomes };
  }

  private predictionPart(): Pick<Reference, 'confidence' | 'servingOovRate' | 'predictedLabels'> {
    const serving = this.observations.map((o) => o.servingOovRate).filter((x): x is number => x !== undefined);
    const predictedLabels = new Map<string, number>();
    for (const o of this.observations) predictedLabels.set(o.label, (predictedLabels.get(o.label) ?? 0) + 1);
    return {
      predictedLabels,
      confidence: numericReference(this.observations.map((o) => o.confidence)),
      servingOovRate: serving.length >= this.observations.length / 2 ? numericReference(serving) : undefined,
    };
  }
}

/** The reference of a version from its training snapshot; the prediction part follows later. */
export const snapshotReference = (rows: readonly LabelledText[], buckets: number): Reference => ({
  source: 'training_snapshot', ...buildTextReference(rows, buckets), confidence: undefined, servingOovRate: undefined, predictedLabels: undefined, outcomes: { n: 0, successes: 0 },
});

/** The current window of one version, measured against its reference. */
export class CurrentWindow {
  readonly startedAt = new Date();
  readonly textLength: number[] = [];
  readonly oovRate: number[] = [];
  readonly confidence: number[] = [];
  readonly servingOovRate: number[] = [];
  readonly tokenBuckets: number[];
  readonly labels = new Map<string, number>();
  readonly outcomes: Outcomes = { n: 0, successes: 0 };
  /** Sum of the window's hashed n-gram vectors (MMD against the reference's). */
  readonly embedding = new EmbeddingSum(TEXT_EMBEDDING_DIMS);
  private readonly embedder = createTextEmbedder();
  private batch: FeatureBatch | undefined;

  /**
   * Whether this window is compared on confidence, serving's OOV rate and accuracy: only when the
   * reference had its prediction part before the window opened, so that no window is compared with
   * the very predictions that formed its reference.
   */
  readonly comparesPredictions: boolean;

  constructor(private readonly reference: Reference) {
    this.tokenBuckets = new Array<number>(reference.tokenBuckets.length).fill(0);
    this.comparesPredictions = reference.confidence !== undefined;
  }

  get size(): number {
    return this.textLength.length;
  }

  add(o: Observation): void {
    const tokens = tokenize(o.text);
    this.textLength.push(o.text.length);
    this.oovRate.push(oovRate(tokens, this.reference.vocabulary));
    this.confidence.push(o.confidence);
    if (o.servingOovRate !== undefined) this.servingOovRate.push(o.servingOovRate);
    for (const w of tokens) this.tokenBuckets[tokenBucket(w, this.tokenBuckets.length)]! += 1;
    this.labels.set(o.label, (this.labels.get(o.label) ?? 0) + 1);
    this.batch = this.embedder.featurize([o.text], this.batch);
    this.embedding.addRow(this.batch, 0);
  }
}

/** The verdict over one window, in the contract's shape plus the reasons. */
export interface DriftAnalysis {
  level: DriftLevel;
  measurements: DriftMeasurement[];
  reasons: string[];
  /** The window's accuracy: estimated from calibrated confidences, realised as labels arrive; undefined before the prediction part. */
  accuracy: WindowAccuracyReport | undefined;
}

/** Estimated accuracy (CBPE) next to the realised one, and which one the concept-drift rule used. */
export interface WindowAccuracyReport {
  estimated: number;
  estimatedLower: number;
  estimatedUpper: number;
  /** Realised accuracy of the labelled predictions so far; undefined without labels. */
  realised: number | undefined;
  labelled: number;
  /** What the concept-drift rule compared: realised accuracies (both sides ≥ minLabelled) or estimated ones. */
  basis: AccuracyBasis;
}

const statisticOf = (s: DriftSignal): number => {
  const r = s.result;
  switch (r.test) {
    case 'psi':
      return r.psi;
    case 'ks':
      return r.statistic;
    case 'chi_square':
      return r.statistic;
    case 'accuracy_drop':
      return r.drop;
    case 'mmd':
      return r.statistic;
  }
};

/** Options of {@link analyseWindow}. */
export interface AnalysisOptions {
  thresholds?: Partial<DriftThresholds>;
  /**
   * Overrides for the text features when the reference is a training snapshot. Training data is
   * never a sample of traffic (rows capped per label, corrections over-represented), so a small KS
   * distance to it is expected skew, not drift; PSI thresholds stay as they are.
   */
  snapshotThresholds?: Partial<DriftThresholds>;
  minLabelled: number;
  /** Calibrates the text statistics' thresholds on the reference; without it the fixed thresholds apply. */
  calibration?: TextCalibration | undefined;
  /** Effect floors under calibrated thresholds against traffic (default DEFAULT_EFFECT_FLOORS). */
  floors?: Partial<Record<EffectMeasure, number>> | undefined;
  /**
   * Floors against a training snapshot: skew between training data and traffic is expected, so the
   * floors there are the old fixed cut-offs (default SNAPSHOT_FLOORS).
   */
  snapshotFloors?: Partial<Record<EffectMeasure, number>> | undefined;
}

/** Default snapshot override: KS D 0.25 (the traffic default is 0.1). */
export const DEFAULT_SNAPSHOT_THRESHOLDS: Partial<DriftThresholds> = { ksStatistic: 0.25 };

/**
 * Effect floors of the text statistics against a training snapshot: the fixed cut-offs used before
 * calibration (PSI 0.25, KS D 0.25) and MMD 0.1 (a guess, not yet measured on real snapshot/traffic pairs).
 */
export const SNAPSHOT_FLOORS: Partial<Record<EffectMeasure, number>> = { psi: 0.25, ks_d: 0.25, mmd: 0.1 };

const mean = (xs: ArrayLike<number>): number => {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i] as number;
  return xs.length === 0 ? 0 : sum / xs.length;
};

/**
 * Compares a window with its reference: PSI on hashed-token buckets, PSI and KS on text length and
 * OOV rate (the text side, against the training snapshot when there is one); chi-square (Cramér's V)
 * on predicted labels, PSI/KS on confidence and serving's OOV rate, and accuracy drop once both
 * sides have `minLabelled` outcomes (the prediction side, against the version's first predictions).
 * Decisions come from the effect sizes (stats' driftVerdict); p-values are reported beside them.
 * With `calibration`, the text statistics (plus MMD of hashed n-grams) are judged on thresholds
 * calibrated on the reference, never under the effect floors; before enough labels, the accuracy
 * drop compares accuracies estimated from calibrated confidences (`accuracy.basis` says which).
 */
export const analyseWindow = (ref: Reference, win: CurrentWindow, opts: AnalysisOptions): DriftAnalysis => {
  const thresholds = opts.calibration ? textThresholds(ref, win.size, opts.calibration) : undefined;
  const at = (key: keyof NonNullable<typeof thresholds>) => (thresholds ? { threshold: thresholds[key] } : {});
  const [lengthPsi, lengthKs] = compareNumeric('text_length', ref.textLength, win.textLength);
  const [oovPsi, oovKs] = compareNumeric('oov_rate', ref.oovRate, win.oovRate);
  // Only more unseen words than the reference is drift: repeated texts make traffic read lower than
  // the reference's held-out half (whose texts never repeat in the vocabulary half).
  const oovRose = mean(win.oovRate) > mean(ref.oovRate.sorted);
  const text: DriftSignal[] = [
    ...compareCounts('hashed_tokens', ref.tokenBuckets, win.tokenBuckets).filter((s) => s.result.test === 'psi').map((s) => ({ ...s, ...at('hashed_tokens/psi') })),
    { ...lengthPsi!, ...at('text_length/psi') },
    { ...lengthKs!, ...at('text_length/ks') },
    { ...oovPsi!, ...at('oov_rate/psi') },
    { ...oovKs!, ...at('oov_rate/ks') },
  ];
  if (thresholds && ref.embedding.n >= 2 && win.embedding.n >= 2) {
    const t = thresholds['text_embedding/mmd'];
    text.push({ feature: 'text_embedding', result: mmdTest(ref.embedding, win.embedding, t.nulls), threshold: t });
  }
  const predictions: DriftSignal[] = [];
  const predictionSide = win.comparesPredictions;
  const labelReference = ref.source === 'training_snapshot' ? ref.predictedLabels : ref.labels;
  if (predictionSide && labelReference) predictions.push(...compareCategories('predicted_label', labelReference, win.labels));
  if (predictionSide && ref.confidence) predictions.push(...compareNumeric('confidence', ref.confidence, win.confidence));
  if (predictionSide && ref.servingOovRate && win.servingOovRate.length >= win.size / 2) predictions.push(...compareNumeric('serving_oov_rate', ref.servingOovRate, win.servingOovRate));
  const accuracy = predictionSide ? accuracyOf(ref, win, opts.minLabelled) : undefined;
  if (accuracy?.signal) predictions.push(accuracy.signal);
  const fixed = opts.thresholds ?? {};
  const floors = { ...DEFAULT_EFFECT_FLOORS, ...(opts.floors ?? {}), ...(ref.source === 'training_snapshot' ? (opts.snapshotFloors ?? SNAPSHOT_FLOORS) : {}) };
  const textThresholdsFixed = ref.source === 'training_snapshot' ? { ...fixed, ...(opts.snapshotThresholds ?? DEFAULT_SNAPSHOT_THRESHOLDS) } : fixed;
  const textFindings = driftVerdict(text, { ...textThresholdsFixed, floors }).findings.map((f) =>
    thresholds && !oovRose && f.feature === 'oov_rate' && f.level !== 'none' ? { ...f, level: 'none' as const, reason: `${f.reason}, but the OOV rate fell: not drift` } : f);
  const findings = [...textFindings, ...driftVerdict(predictions, fixed).findings];
  const signals = [...text, ...predictions];
  const level = findings.reduce<DriftLevel>((worst, f) => (LEVEL_RANK[f.level] > LEVEL_RANK[worst] ? f.level : worst), 'none');
  const measurements: DriftMeasurement[] = findings.map((f, i) => ({
    feature: f.feature,
    test: f.test,
    statistic: finite(statisticOf(signals[i]!)),
    pValue: Math.min(1, Math.max(0, Number.isFinite(f.pValue) ? f.pValue : 1)),
    effectSize: finite(f.effectSize),
    level: f.level,
  }));
  const basisNote = accuracy ? ` (basis: ${accuracy.report.basis})` : '';
  return {
    level,
    measurements,
    reasons: findings.filter((f) => f.level !== 'none').map((f) => `${f.feature}/${f.test}: ${f.reason}${f.test === 'accuracy_drop' ? basisNote : ''}`),
    accuracy: accuracy?.report,
  };
};

/**
 * The window's estimated and realised accuracy, and the concept-drift signal: realised accuracy
 * against the reference's once both sides have `minLabelled` outcomes, else the estimate from
 * calibrated confidences against the reference's estimate (like with like, so a calibration bias
 * common to both cancels).
 */
const estimated = (e: AccuracyEstimate): WindowAccuracy => ({ basis: 'estimated', accuracy: e.accuracy, variance: e.variance, n: e.n });

const accuracyOf = (ref: Reference, win: CurrentWindow, minLabelled: number): { report: WindowAccuracyReport; signal: DriftSignal | undefined } | undefined => {
  if (win.confidence.length === 0) return undefined;
  const estimate: AccuracyEstimate = estimateAccuracy(win.confidence);
  const realised = win.outcomes.n > 0 ? win.outcomes.successes / win.outcomes.n : undefined;
  const labelled = ref.outcomes.n >= minLabelled && win.outcomes.n >= minLabelled;
  const basis: AccuracyBasis = labelled ? 'realised' : 'estimated';
  const report: WindowAccuracyReport = {
    estimated: estimate.accuracy, estimatedLower: estimate.interval.lower, estimatedUpper: estimate.interval.upper, realised, labelled: win.outcomes.n, basis,
  };
  if (labelled) return { report, signal: compareAccuracy('accuracy', ref.outcomes as ArmCounts, win.outcomes as ArmCounts) };
  if (!ref.confidence || ref.confidence.sorted.length === 0) return { report, signal: undefined };
  const before = estimated(estimateAccuracy(ref.confidence.sorted));
  return { report, signal: { feature: 'accuracy', result: accuracyDropBetween(before, estimated(estimate)) } };
};

const LEVEL_RANK: Record<DriftLevel, number> = { none: 0, warn: 1, significant: 2 };

// JSON (and the contract) cannot carry Infinity/NaN; a huge finite number still reads as "off the scale".
const finite = (x: number): number => (Number.isFinite(x) ? x : Number.isNaN(x) ? 0 : Math.sign(x) * Number.MAX_VALUE);
