// Core entry of @flywheel/learning: features, data, inference (onnxruntime), adapters, calibration.
// No TensorFlow.js here: training lives behind '@flywheel/learning/train' so serving never loads it.
export { AdapterManifest, exportAdapter, parseAdapterManifest } from './adapter.js';
export { expectedCalibrationError, fitTemperature, logitsEce, softmaxRows, temperatureNll } from './calibration.js';
export { Example, ExampleSource, cutLabelPath, groupKey, parseCsv, parseExamples, readExamples, splitByGroup, type TableFormat } from './data.js';
export {
  CLASSIFIER_LABEL_FILES,
  DEFAULT_MAX_LENGTH,
  ENCODER_FILES,
  EncoderConfig,
  FileEmbeddingCache,
  MemoryEmbeddingCache,
  cachedEmbedder,
  createImportedClassifier,
  createTextEncoder,
  encoderHash,
  loadImportedClassifier,
  loadTextEncoder,
  readClassifierLabels,
  readEncoderFolder,
  textHash,
  type CachedEmbeddings,
  type EmbeddingCache,
  type EncoderFiles,
  type EncoderOptions,
  type ImportedClassifier,
  type TextEncoder,
  type TextTokens,
} from './encoder/index.js';
export { LearningError, type LearningErrorCode } from './errors.js';
export { buildSelfContainedExport, writeExportFolder, type ExportManifest, type ExportSource, type SelfContainedExport } from './export/selfContainedExport.js';
export { createTextFeaturizer, type FeaturizeOptions, type FeaturizerSpec, type TextFeatures } from './export/textFeaturizer.js';
export { evaluate, type ClassMetrics, type Evaluation } from './evaluate.js';
export { DEFAULT_FEATURE_CONFIG, createFeaturizer, normalizeText, tokenize, type FeatureBatch, type FeatureConfig, type Featurizer } from './features.js';
export { checkGates, type CandidateScores, type Gates } from './gates.js';
export { mergeLora, type Prediction, type RowsOf } from './model.js';
export { BaseMetadata, exportBaseOnnx } from './onnx/exportBase.js';
export {
  BOOTSTRAP_OPTIONS,
  DEFAULT_TRAIN_OPTIONS,
  ENCODER_CONTINUED_LEARNING_RATE,
  encoderUpdateOptions,
  RECOMMENDED_CONTINUAL_OPTIONS,
  TRAINER_DEFAULT_OPTIONS,
  NGRAM_UPDATE_OPTIONS,
  ENCODER_TRAINER_DEFAULT_OPTIONS,
  LOW_FORGETTING_OPTIONS,
  prepareExamples,
  resolveOptions,
  type DeepPartial,
  type StrategyConfig,
  type TrainOptions,
  type WeightedExample,
} from './options.js';
export { createRng, type Rng } from './random.js';
export { deserializeTrainingState, serializeTrainingState, type TrainingStateFiles } from './serialize.js';
export { createOnnxBase, type OnnxBase, type OnnxBaseOptions, type OnnxClassifier, type RawPredictions } from './serving.js';
export { DEFAULT_SPLIT, SplitConfig, describeRows, groupPosition, partitionByGroup, type DataSplits } from './splits.js';
export type { AdapterWeights, BaseWeights, DenseWeights, FisherState, LoraConfig, LoraWeights, ModelConfig, TrainingState } from './state.js';
export { alignNewClassWeights } from './weightAlign.js';
