// Encoder bases: a user's transformer (model.onnx + tokenizer.json) as a frozen featurizer. onnxruntime only, no tfjs.
export { cachedEmbedder, type CachedEmbeddings } from './cachedEmbedder.js';
export { FileEmbeddingCache, MemoryEmbeddingCache, textHash, type EmbeddingCache } from './embeddingCache.js';
export { createTextEncoder, encoderHash, loadTextEncoder, readEncoderFolder, type EncoderFiles, type EncoderOptions, type TextEncoder } from './encoderBase.js';
export { DEFAULT_MAX_LENGTH, ENCODER_FILES, EncoderConfig } from './encoderConfig.js';
export { CLASSIFIER_LABEL_FILES, createImportedClassifier, loadImportedClassifier, readClassifierLabels, type ImportedClassifier } from './importedClassifier.js';
export type { TextTokens } from './textTokens.js';
