// The bench uses the package's public surface (both entries, plus two internals: argmaxRow and the
// trainer's step, whose speed it measures), straight from the sources.
export {
  BOOTSTRAP_OPTIONS,
  createRng,
  createOnnxBase,
  exportAdapter,
  exportBaseOnnx,
  groupKey,
  logitsEce,
  readExamples,
  RECOMMENDED_CONTINUAL_OPTIONS,
  splitByGroup,
  tokenize,
  TRAINER_DEFAULT_OPTIONS,
  ENCODER_TRAINER_DEFAULT_OPTIONS,
  type DeepPartial,
  type Example,
  type TrainingState,
  type TrainOptions,
} from '../src/index.js';
export {
  bootstrapCandidate,
  continueTraining,
  createTfClassifier,
  initBackend,
  trainBase,
  trainCandidate,
  updateReservoir,
} from '../src/trainIndex.js';
export { argmaxRow as argmaxRowForBench } from '../src/model.js';
export { createDenseTrainer } from '../src/denseTrainer.js';
