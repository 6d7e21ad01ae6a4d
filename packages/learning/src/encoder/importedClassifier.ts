import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@flywheel/runtime';
import { z } from 'zod';
import { softmaxRows } from '../calibration.js';
import { toPrediction, type Prediction } from '../model.js';
import { createTextEncoder, readEncoderFolder, type EncoderFiles, type EncoderOptions } from './encoderBase.js';

/** Where a user's classifier folder names its labels, in the order they are looked for. */
export const CLASSIFIER_LABEL_FILES = { hfConfig: 'config.json', list: 'labels.txt' } as const;

/** The part of a Hugging Face config.json read here: id2label ({"0": "billing", …}). */
const HfConfig = z.object({ id2label: z.record(z.string()).optional() }).passthrough();

/** A user's text classifier (model.onnx with a logits output + tokenizer.json), served as it is. */
export interface ImportedClassifier {
  /** content hash of the model files and the labels */
  readonly hash: string;
  readonly labels: readonly string[];
  /** raw logits, one row of labels.length per text */
  logits(texts: readonly string[]): Promise<Float32Array[]>;
  /** softmax of the logits: label, confidence, every label's probability */
  predict(texts: readonly string[]): Promise<Prediction[]>;
  release(): Promise<void>;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
}

/** Labels in output order: config.json id2label, else labels.txt (one per line). */
export async function readClassifierLabels(dir: string): Promise<string[]> {
  const config = await readText(join(dir, CLASSIFIER_LABEL_FILES.hfConfig));
  if (config !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(config);
    } catch (cause) {
      throw new ConfigError(`${CLASSIFIER_LABEL_FILES.hfConfig} in ${dir} is not valid JSON; fix it or remove it and give labels.txt`, { cause, reason: 'classifier_labels' });
    }
    const id2label = HfConfig.safeParse(json).data?.id2label;
    if (id2label !== undefined) {
      const ids = Object.keys(id2label).map(Number).sort((a, b) => a - b);
      if (!ids.every((id, i) => id === i)) throw new ConfigError(`id2label in ${CLASSIFIER_LABEL_FILES.hfConfig} must number labels 0..${ids.length - 1} without gaps`, { reason: 'classifier_labels' });
      return ids.map((id) => id2label[String(id)]!);
    }
  }
  const list = await readText(join(dir, CLASSIFIER_LABEL_FILES.list));
  if (list !== undefined) return list.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  throw new ConfigError(`classifier folder ${dir} names no labels: give config.json with id2label (as Hugging Face saves it) or labels.txt with one label per line in output order`, {
    reason: 'classifier_labels',
  });
}

/**
 * Opens a user's classifier: the same loading and checks as an encoder base, reading the `logits`
 * output (or the output flywheel-encoder.json names) as one row per text.
 */
export async function createImportedClassifier(files: EncoderFiles, labels: readonly string[], options: EncoderOptions = {}): Promise<ImportedClassifier> {
  // default the output to logits; a config that does not parse goes through as it is, so its error is the encoder's
  const own = files.config === undefined ? {} : parsedObject(files.config);
  const withOutput: EncoderFiles = own === undefined ? files : { ...files, config: Buffer.from(JSON.stringify({ output: 'logits', ...own })) };
  const model = await createTextEncoder(withOutput, options);
  if (model.pooling !== 'output' || model.dim !== labels.length) {
    await model.release();
    throw new ConfigError(`the classifier outputs ${model.dim} values per text but ${labels.length} labels are named; its output must be logits [batch, labels] in label order`, {
      reason: 'classifier_labels',
    });
  }
  const frozen = Object.freeze([...labels]);
  const logits = (texts: readonly string[]): Promise<Float32Array[]> => model.embed(texts);
  return {
    hash: createHash('sha256').update(`${model.hash}\n${frozen.join('\n')}`).digest('hex'),
    labels: frozen,
    logits,
    async predict(texts) {
      const rows = await logits(texts);
      const flat = new Float32Array(rows.length * frozen.length);
      rows.forEach((r, i) => flat.set(r, i * frozen.length));
      const probabilities = softmaxRows(flat, frozen.length);
      return texts.map((_, r) => toPrediction(probabilities, r, frozen));
    },
    release: () => model.release(),
  };
}

function parsedObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a classifier folder (model.onnx, tokenizer.json, labels) and opens it. */
export async function loadImportedClassifier(dir: string, options: EncoderOptions = {}): Promise<ImportedClassifier> {
  // One after the other: a missing folder fails both reads, and the error must say what is
  // missing (model.onnx and tokenizer.json) every time, not whichever read lost a race.
  const files = await readEncoderFolder(dir);
  const labels = await readClassifierLabels(dir);
  return createImportedClassifier(files, labels, options);
}
