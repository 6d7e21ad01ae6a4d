export { AdapterManifest, exportAdapter, parseAdapterManifest } from './adapter.js';
export { BACKEND_PREFERENCE, activeBackend, initBackend, type BackendName, type BackendOptions } from './backend.js';
export { Example, ExampleSource, cutLabelPath, groupKey, parseCsv, parseExamples, readExamples, splitByGroup, type TableFormat } from './data.js';
export { LearningError, type LearningErrorCode } from './errors.js';
export { evaluate, type ClassMetrics, type Evaluation } from './evaluate.js';
export { evaluateState } from './evaluateState.js';
export { alignNewClassWeights } from './weightAlign.js';
export { DEFAULT_FEATURE_CONFIG, createFeaturizer, normalizeText, tokenize, type FeatureBatch, type FeatureConfig, type Featurizer } from './features.js';
export { createTfClassifier, mergeLora, type Prediction, type TfClassifier } from './model.js';
export { BaseMetadata, exportBaseOnnx } from './onnx/exportBase.js';
export { createRng, type Rng } from './random.js';
export { deserializeTrainingState, serializeTrainingState, type TrainingStateFiles } from './serialize.js';
export { createOnnxBase, type OnnxBase, type OnnxBaseOptions, type OnnxClassifier, type RawPredictions } from './serving.js';
export type { AdapterWeights, BaseWeights, DenseWeights, FisherState, LoraConfig, LoraWeights, ModelConfig, TrainingState } from './state.js';
export {
  DEFAULT_TRAIN_OPTIONS,
  RECOMMENDED_CONTINUAL_OPTIONS,
  checkContinuable,
  continueTraining,
  estimateFisher,
  ewcPenalty,
  hashBase,
  prepareExamples,
  resolveOptions,
  trainBase,
  updateReservoir,
  type DeepPartial,
  type StrategyConfig,
  type TrainOptions,
  type TrainResult,
  type WeightedExample,
} from './train.js';
