// '@flywheel/learning/train': everything that runs TensorFlow.js (training, tfjs evaluation).
// Import it only where training happens (the trainer, `flywheel bootstrap`, benches).
export { BACKEND_PREFERENCE, activeBackend, initBackend, type BackendName, type BackendOptions } from './backend.js';
export {
  accuracyOn,
  bootstrapCandidate,
  calibrate,
  optionsMetrics,
  reportVersion,
  trainCandidate,
  type CandidateDataSettings,
  type CandidateResult,
  type VersionReport,
} from './candidate.js';
export { bootstrapEncoderCandidate, distillImportedCandidate, trainEncoderCandidate, type ClassifierTeacher, type EncoderCandidateResult } from './encoder/encoderCandidate.js';
export { continueEncoderTraining, encoderRows, trainEncoderBase, type EmbeddingUse, type EncoderSource, type EncoderTrainResult } from './encoder/encoderTraining.js';
export { evaluateState } from './evaluateState.js';
export { estimateFisher, ewcPenalty } from './strategies/ewc.js';
export { updateReservoir } from './strategies/replay.js';
export { createTfClassifier, type TfClassifier } from './tfClassifier.js';
export { checkContinuable, continueTraining, hashBase, trainBase, type TrainResult } from './train.js';
