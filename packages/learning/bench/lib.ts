// The bench uses the package's public surface (plus one helper), straight from the sources.
export {
  continueTraining,
  createRng,
  createOnnxBase,
  createTfClassifier,
  exportAdapter,
  exportBaseOnnx,
  groupKey,
  initBackend,
  readExamples,
  RECOMMENDED_CONTINUAL_OPTIONS,
  splitByGroup,
  tokenize,
  trainBase,
  updateReservoir,
  type DeepPartial,
  type Example,
  type TrainingState,
  type TrainOptions,
} from '../src/index.js';
export { argmaxRow as argmaxRowForBench } from '../src/model.js';
