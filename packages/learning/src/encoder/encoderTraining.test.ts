import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitByGroup, type Example } from '../data.js';
import { LearningError } from '../errors.js';
import { evaluate } from '../evaluate.js';
import type { DeepPartial, TrainOptions } from '../options.js';
import type { TrainingState } from '../state.js';
import { exportAdapter } from '../adapter.js';
import { exportBaseOnnx } from '../onnx/exportBase.js';
import { deserializeTrainingState, serializeTrainingState } from '../serialize.js';
import { createOnnxBase } from '../serving.js';
import { createTfClassifier } from '../tfClassifier.js';
import { MemoryEmbeddingCache } from './embeddingCache.js';
import { loadTextEncoder } from './encoderBase.js';
import { continueEncoderTraining, ENCODER_CONTINUED_LEARNING_RATE, encoderRows, encoderUpdateOptions, trainEncoderBase, type EncoderSource } from './encoderTraining.js';
import { shippedClinc, writeTinyEncoder } from './testing/tinyEncoder.js';

const root = await mkdtemp(join(tmpdir(), 'flywheel-enctrain-'));
afterAll(() => rm(root, { recursive: true, force: true }));

// CLINC150 domains: 7 at first, 2 more arrive in the update. Every 4th row keeps the test quick.
const all = (await shippedClinc()).filter((e, i) => e.label !== 'oos' && i % 4 === 0);
const domains = [...new Set(all.map((e) => e.label))].sort();
const firstDomains = new Set(domains.slice(0, 7));
const { train, held } = splitByGroup(all, { fraction: 0.25, seed: 3 });
const first = train.filter((e) => firstDomains.has(e.label));
const update = train.filter((e) => !firstDomains.has(e.label) && domains.slice(7, 9).includes(e.label));

const { dir } = await writeTinyEncoder(join(root, 'tiny'), { texts: train.map((e) => e.text), pooling: 'mean', maxLength: 32, seed: 11 });
const encoder = await loadTextEncoder(dir, { intraOpNumThreads: 1 });
afterAll(() => encoder.release());
const cache = new MemoryEmbeddingCache();
const source: EncoderSource = { encoder, cache };

const options: DeepPartial<TrainOptions> = {
  model: { hiddenUnits: [128] },
  lora: { rank: 8, alpha: 16, dropout: 0 },
  epochs: 30,
  patience: 4,
  batchSize: 32,
  learningRate: { fresh: 5e-3, continued: 3e-3 },
  seed: 5,
};

async function accuracy(state: TrainingState, rows: readonly Example[]): Promise<number> {
  const { rowsOf } = await encoderRows(source, rows.map((e) => e.text));
  const classifier = createTfClassifier(state, { rowsOf });
  const predicted = classifier.predict(rows.map((e) => e.text)).map((p) => p.label);
  classifier.dispose();
  return evaluate(rows.map((e) => e.label), predicted).accuracy;
}

describe('training on a frozen encoder base', async () => {
  const base = await trainEncoderBase(first, source, options);
  const heldFirst = held.filter((e) => firstDomains.has(e.label));
  let continued: TrainingState | undefined;

  it('learns the shipped data far better than chance from cached embeddings', async () => {
    expect(base.state.model.base).toEqual({ kind: 'encoder', hash: encoder.hash });
    expect(base.state.base.embedding).toHaveLength(0);
    expect(base.embeddings).toEqual({ texts: new Set(first.map((e) => e.text)).size, hits: 0, embedded: new Set(first.map((e) => e.text)).size });
    const acc = await accuracy(base.state, heldFirst);
    console.log('encoder base: held-out accuracy', acc.toFixed(3), 'on', heldFirst.length, 'rows,', firstDomains.size, 'classes');
    expect(acc).toBeGreaterThan(3 / firstDomains.size);
  });

  it('continues with LoRA on the projection, replay, distillation and EWC, embedding only new rows', async () => {
    const continual: DeepPartial<TrainOptions> = { ...options, mode: 'lora', strategy: { replay: { capacity: 400, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 }, ewc: { lambda: 10 } } };
    // the base run's reservoir comes from training with the strategies on
    const withReplay = await trainEncoderBase(first, source, continual);
    expect(withReplay.embeddings.hits).toBe(withReplay.embeddings.texts); // all cached by the first run
    const next = await continueEncoderTraining({ base: withReplay.state, current: withReplay.state }, update, source, continual);
    expect(next.startedFrom).toBe('current');
    expect(next.state.baseVersion).toBe(withReplay.state.baseVersion);
    expect(next.state.labels).toEqual([...withReplay.state.labels, ...domains.slice(7, 9)]);
    expect(next.state.adapter.layers.dense0?.b.some((v) => v !== 0)).toBe(true);
    expect(next.state.fisher).toBeDefined();
    // replay rows were cached; only the update's texts reached the encoder
    expect(next.embeddings.embedded).toBe(new Set(update.map((e) => e.text)).size);
    expect(next.embeddings.hits).toBeGreaterThan(0);
    const heldNew = held.filter((e) => domains.slice(7, 9).includes(e.label));
    const [oldAcc, newAcc] = [await accuracy(next.state, heldFirst), await accuracy(next.state, heldNew)];
    console.log('after update: old classes', oldAcc.toFixed(3), 'new classes', newAcc.toFixed(3));
    expect(newAcc).toBeGreaterThan(3 / next.state.labels.length);
    expect(oldAcc).toBeGreaterThan(3 / firstDomains.size);
    continued = next.state;
    // the state round-trips like an n-gram one: encoder hash kept, no embedding table
    const restored = deserializeTrainingState(serializeTrainingState(next.state));
    expect(restored.model.base).toEqual({ kind: 'encoder', hash: encoder.hash });
    expect(restored.base.embedding).toHaveLength(0);
    expect(restored.adapter.layers.dense0?.b).toEqual(next.state.adapter.layers.dense0?.b);
    expect(restored.replay).toEqual(next.state.replay);
  });

  it('serves through onnxruntime (encoder session → head graph) with the probabilities TensorFlow.js trained', async () => {
    const texts = held.slice(0, 40).map((e) => e.text);
    const { rowsOf } = await encoderRows(source, texts);
    // serving embeds in its own batches; the trainer's cached rows are the same to 1e-5
    const served = await encoder.embed([...texts].reverse());
    served.reverse().forEach((row, i) => row.forEach((v, d) => expect(Math.abs(v - rowsOf([texts[i]!])[d]!)).toBeLessThan(1e-5)));
    for (const state of [base.state, ...(continued ? [continued] : [])]) {
      const onnxBase = await createOnnxBase(exportBaseOnnx(state), { encoder });
      const adapter = exportAdapter(state, { version: 'm@1.0.0' });
      const raw = await onnxBase.createClassifier(adapter.bytes, adapter.manifest).predictRaw(texts);
      const tf = createTfClassifier(state, { rowsOf });
      const expected = tf.probabilities(texts);
      tf.dispose();
      expect(raw.probabilities).toHaveLength(expected.length);
      expected.forEach((p, i) => expect(Math.abs(p - raw.probabilities[i]!)).toBeLessThan(1e-5));
      await onnxBase.release();
    }
    await expect(createOnnxBase(exportBaseOnnx(base.state))).rejects.toThrow(/no encoder was given/);
  });

  it('an update on an encoder base takes the encoder continuation rate unless the options name one', () => {
    expect(encoderUpdateOptions({ epochs: 3 }).learningRate).toEqual({ continued: ENCODER_CONTINUED_LEARNING_RATE });
    expect(encoderUpdateOptions({ learningRate: { fresh: 1e-3 } }).learningRate).toEqual({ fresh: 1e-3, continued: ENCODER_CONTINUED_LEARNING_RATE });
    expect(encoderUpdateOptions({ learningRate: { continued: 4e-3 } }).learningRate, 'a per-model override wins').toEqual({ continued: 4e-3 });
  });

  it('refuses to continue a version on another base', async () => {
    const other: EncoderSource = { encoder: { ...encoder, hash: 'f'.repeat(64), dim: encoder.dim, embed: (t) => encoder.embed(t) } };
    await expect(continueEncoderTraining({ base: base.state }, update, other, options)).rejects.toThrow(LearningError);
  });
});
