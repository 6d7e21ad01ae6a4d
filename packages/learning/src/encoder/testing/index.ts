// Test fixtures for encoder bases, built here without downloads: '@flywheel/learning/testing'.
export { buildTinyBert, type TinyBertOptions } from './tinyBert.js';
export { SHIPPED_DATA_DIR, shippedClinc, writeTinyEncoder, type TinyEncoderOptions } from './tinyEncoder.js';
export { SPECIAL_TOKENS, buildWordPieceVocab, wordPieceTokenizerJson, type WordPieceOptions } from './wordPieceTokenizer.js';
