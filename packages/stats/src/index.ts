export { logGamma, normalCdf, normalSf, normalQuantile, regularizedGammaP, regularizedGammaQ, chiSquareSf, kolmogorovSf } from './distributions.js';
export { mulberry32, sampleNormal, sampleBinomial } from './random.js';
export type { Rng } from './random.js';
export { fnv1a32, murmur3_32 } from './hash.js';
export { assignVariant, bucketOf, assertSplit, BASIS_POINTS } from './assignVariant.js';
export type { Variant, TrafficSplit } from './assignVariant.js';
export { emptyCounts, recordOutcome, mergeCounts, mergeExperimentStats, rateOf, assertArmCounts } from './armCounts.js';
export type { ArmCounts, ExperimentStats } from './armCounts.js';
export { twoProportionZTest, mixtureSequentialTest, differenceVariance, cohensH } from './proportionTests.js';
export type { Interval, TwoProportionZTest, MixtureSequentialTest } from './proportionTests.js';
export { sampleRatioMismatch, checkSampleRatio, SRM_MIN_EXPECTED, SRM_THRESHOLD } from './sampleRatioMismatch.js';
export type { SampleRatioCheck } from './sampleRatioMismatch.js';
export { decideExperiment, DEFAULT_EXPERIMENT_CONFIG, GUARD_MIN_SAMPLE_PER_ARM } from './decideExperiment.js';
export type {
  Decision,
  TestMethod,
  DecisionReasonCode,
  DecisionReason,
  ExperimentConfig,
  ExperimentEffect,
  ArmSummary,
  ExperimentDecision,
} from './decideExperiment.js';
export { pairedSequentialTest, assertPairedCounts } from './pairedSequentialTest.js';
export type { PairedCounts, PairedSequentialTest } from './pairedSequentialTest.js';
export { decidePairedExperiment, DEFAULT_PAIRED_CONFIG } from './decidePairedExperiment.js';
export type { PairedExperimentConfig, PairedDecision } from './decidePairedExperiment.js';
export { quantileEdges, quantileEdgesSorted, bucketIndex, histogram, bucketCounts, countCategories, alignCategories } from './histogram.js';
export {
  populationStabilityIndex,
  psiLevel,
  jensenShannonDivergence,
  kolmogorovSmirnovTest,
  kolmogorovSmirnovSorted,
  sortFinite,
  chiSquareHomogeneity,
  accuracyDrop,
} from './driftTests.js';
export type { EffectMeasure, EffectSize, PsiLevel, PsiResult, KsResult, ChiSquareResult, AccuracyDropResult } from './driftTests.js';
export { driftVerdict, DEFAULT_DRIFT_THRESHOLDS, DEFAULT_EFFECT_FLOORS, numericReference, compareNumeric, compareCounts, compareCategories, compareAccuracy } from './driftVerdict.js';
export type { NumericReference, DriftTestResult, DriftSignal, DriftLevel, DriftThresholds, DriftFinding, DriftVerdict } from './driftVerdict.js';
export { estimateAccuracy, windowAccuracy, accuracyDropBetween } from './cbpe.js';
export type { AccuracyEstimate, AccuracyBasis, WindowAccuracy } from './cbpe.js';
export { EmbeddingSum, mmdSquared, mmdTest, empiricalPValue } from './mmd.js';
export type { SparseRows, MmdResult } from './mmd.js';
export { calibrateThresholds, calibrateTextDrift, numericWindowEffects, countWindowEffects, mmdWindowEffects, TEXT_DRIFT_STATISTICS } from './calibrateThresholds.js';
export type { CalibratedThreshold, CalibrationOptions, TextDriftSample, TextDriftStatistic } from './calibrateThresholds.js';
