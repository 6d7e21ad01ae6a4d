import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExamples, type Example } from '../../data.js';
import { buildTinyBert, type TinyBertOptions } from './tinyBert.js';
import { buildWordPieceVocab, wordPieceTokenizerJson, type WordPieceOptions } from './wordPieceTokenizer.js';

/** /work/shared/data as seen from src/encoder/testing or dist/encoder/testing (the repo's ../shared/data). */
export const SHIPPED_DATA_DIR = fileURLToPath(new URL('../../../../../../shared/data/', import.meta.url));

/** The shipped CLINC150 requests (see shared/data/clinc150/README.md), label cut to the domain. */
export async function shippedClinc(dataDir = SHIPPED_DATA_DIR): Promise<Example[]> {
  const csv = await readFile(join(dataDir, 'clinc150', 'clinc150.csv'), 'utf8');
  return parseExamples(csv, { format: 'csv', textColumn: 'text', labelColumn: 'label', labelDepth: 1 });
}

export interface TinyEncoderOptions extends Omit<TinyBertOptions, 'vocabSize'>, WordPieceOptions {
  /** texts the WordPiece vocabulary is counted from */
  texts: Iterable<string>;
  /** written to flywheel-encoder.json; no config file when these and maxLength are undefined */
  pooling?: 'cls' | 'mean';
  /** makes the folder a `hybrid` base with this many n-gram buckets */
  hybridBuckets?: number;
}

/**
 * Writes an `encoder` base folder built here, without downloads: model.onnx (a tiny BERT),
 * tokenizer.json (WordPiece from `texts`) and, when pooling, maxLength or hybridBuckets is given, flywheel-encoder.json.
 */
export async function writeTinyEncoder(dir: string, options: TinyEncoderOptions): Promise<{ dir: string; vocab: string[] }> {
  const vocab = buildWordPieceVocab(options.texts, options);
  await mkdir(dir, { recursive: true });
  const maxLength = options.maxLength ?? 128;
  await writeFile(join(dir, 'model.onnx'), buildTinyBert({ ...options, vocabSize: vocab.length, maxPositions: Math.max(maxLength, options.maxPositions ?? 0) }));
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(wordPieceTokenizerJson(vocab, { maxLength })));
  if (options.pooling !== undefined || options.maxLength !== undefined || options.hybridBuckets !== undefined) {
    const config = {
      ...(options.pooling !== undefined ? { pooling: options.pooling } : {}),
      ...(options.maxLength !== undefined ? { maxLength } : {}),
      ...(options.hybridBuckets !== undefined ? { hybrid: { buckets: options.hybridBuckets } } : {}),
    };
    await writeFile(join(dir, 'flywheel-encoder.json'), JSON.stringify(config));
  }
  return { dir, vocab };
}
