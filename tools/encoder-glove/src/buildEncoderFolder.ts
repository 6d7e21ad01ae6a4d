import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHfTokenizer } from './hfTokenizers.js';
import { meanPoolEncoderOnnx } from './meanPoolOnnx.js';
import type { WordVectors } from './winkVectors.js';
import { WORD_LEVEL_SPECIALS, wordLevelTokenizerConfig, wordLevelTokenizerJson } from './wordLevelTokenizer.js';

export interface VocabularyOptions {
  /** the most frequent words kept besides those of `texts` (default 20,000) */
  top?: number;
  /** tokens per text (tokenizer.json truncation and flywheel-encoder.json maxLength; default 64) */
  maxLength?: number;
}

/**
 * The words to keep: every word of `texts` the vectors have, plus the `top` most frequent, in the
 * vectors' frequency order. Words are found by the tokenizer the folder will ship, so each kept
 * word is one the encoder will actually look up.
 */
export function chooseVocabulary(vectors: WordVectors, texts: Iterable<string>, options: VocabularyOptions = {}): string[] {
  const maxLength = options.maxLength ?? 64;
  const all = [...WORD_LEVEL_SPECIALS, ...vectors.words];
  const tokenizer = createHfTokenizer(wordLevelTokenizerJson(all, { maxLength }), wordLevelTokenizerConfig());
  const used = new Set<number>();
  for (const text of texts) for (const id of tokenizer.encode(text, { add_special_tokens: false }).ids) used.add(id);
  const top = options.top ?? 20_000;
  return vectors.words.filter((_, i) => i < top || used.has(i + WORD_LEVEL_SPECIALS.length));
}

export interface EncoderFolderFiles {
  'model.onnx': Uint8Array;
  'tokenizer.json': string;
  'tokenizer_config.json': string;
  'flywheel-encoder.json': string;
}

/** The files of an `encoder` base for `words`: ids 0 and 1 are [PAD] and [UNK] (zero vectors, not counted). */
export function encoderFolderFiles(vectors: WordVectors, words: readonly string[], options: { maxLength?: number; metadata?: Record<string, string> } = {}): EncoderFolderFiles {
  const maxLength = options.maxLength ?? 64;
  const vocab = [...WORD_LEVEL_SPECIALS, ...words];
  const dim = vectors.dim;
  const table = new Float32Array(vocab.length * dim);
  const counts = new Float32Array(vocab.length);
  words.forEach((w, k) => {
    const v = vectors.vector(w);
    if (v === undefined) throw new Error(`the vectors have no "${w}"; choose words from vectors.words`);
    const row = k + WORD_LEVEL_SPECIALS.length;
    table.set(v, row * dim);
    counts[row] = 1;
  });
  return {
    'model.onnx': meanPoolEncoderOnnx({ vectors: table, dim, counts }, options.metadata),
    'tokenizer.json': JSON.stringify(wordLevelTokenizerJson(vocab, { maxLength })),
    'tokenizer_config.json': JSON.stringify(wordLevelTokenizerConfig()),
    'flywheel-encoder.json': JSON.stringify({ maxLength }),
  };
}

/** Writes the files to `dir` through a temporary sibling, so a reader never sees half a folder. */
export async function writeEncoderFolder(dir: string, files: EncoderFolderFiles & Record<string, string | Uint8Array>): Promise<void> {
  const staging = `${dir}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(staging, name), bytes);
  await rm(dir, { recursive: true, force: true });
  await rename(staging, dir);
}
