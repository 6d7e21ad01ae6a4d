// A version trained on a frozen encoder base (issue 15), stored the way the trainer will store it
// (encoder folder once under encoders/<hash>/, head base + adapter per version) and served by
// serving composed as main.ts composes it: answers equal the trainer-side ONNX path to 1e-5.
// Own schema, Redis prefix, topic prefix and bucket, removed in afterAll.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelName, ModelVersion } from '@flywheel/contracts';
import { createOnnxBase, ENCODER_FILES, exportAdapter, exportBaseOnnx, loadTextEncoder, readEncoderFolder, serializeTrainingState, type RawPredictions, type TextEncoder, type TrainingState } from '@flywheel/learning';
import { writeTinyEncoder } from '@flywheel/learning/testing';
import { initBackend, trainEncoderBase } from '@flywheel/learning/train';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';
import { syntheticExamples } from './testing/modelFixtures.js';

const run = randomUUID().slice(0, 8);
const model = `itest-encoder-${run}` as ModelName;
const examples = syntheticExamples(['alpha', 'beta', 'gamma'], 30);
const texts = ['alphax1 alphax2 noise3', 'betax4 noise1 noise2', 'gammax7 gammax1', 'noise5 unknownword', 'alphax3 betax3 gammax3'];

interface Answer { label: string; confidence: number; modelVersion: string; topK: { label: string; probability: number }[] }

describe('a version on a frozen encoder base, served with its shared encoder', () => {
  let p: IsolatedPlatform;
  let work: string;
  let encoder: TextEncoder;
  let state: TrainingState;
  let serving: InProcessServing | undefined;

  beforeAll(async () => {
    p = await isolatedPlatform('serving-encoder');
    await migrateRegistry(p.pool);
    work = await mkdtemp(join(tmpdir(), 'flywheel-encoder-itest-'));
    const { dir } = await writeTinyEncoder(join(work, 'encoder'), { texts: examples.map((e) => e.text), minCharCount: 1, pooling: 'mean', maxLength: 32, seed: 11 });
    encoder = await loadTextEncoder(dir, { intraOpNumThreads: 1 });
    await initBackend();
    state = (await trainEncoderBase(examples, { encoder }, { model: { hiddenUnits: [32] }, lora: { rank: 4, alpha: 8, dropout: 0 }, epochs: 8, batchSize: 32, seed: 5 })).state;

    const registry = new PgRegistry(p.pool);
    const artifacts = new MinioArtifactStore(await p.objectStore());
    const files = await readEncoderFolder(dir);
    const byName: Record<string, Uint8Array> = { [ENCODER_FILES.model]: files.model, [ENCODER_FILES.tokenizer]: files.tokenizer, ...(files.config ? { [ENCODER_FILES.config]: files.config } : {}) };
    const { encoder: ref } = await artifacts.ensureEncoder(encoder.hash, byName);
    const version = '1.0.0' as ModelVersion;
    const adapter = exportAdapter(state, { version, modelName: model });
    const metrics = { accuracy: 0.9 };
    const artifact = await artifacts.writeVersion({
      model, version, baseVersion: state.baseVersion, labels: [...state.labels], metrics,
      adapter: { bytes: adapter.bytes, manifest: adapter.manifest }, state: serializeTrainingState(state), dataset: new TextEncoder().encode('{}\n'),
      baseOnnx: () => exportBaseOnnx(state), encoder: ref,
    });
    await registry.ensureModel(model);
    await registry.registerChampion({ model, version, baseVersion: state.baseVersion, labels: [...state.labels], metrics, artifact, actor: 'itest', reason: 'encoder fixture' });
  }, 180_000);

  afterAll(async () => {
    try {
      await serving?.close();
      await encoder?.release();
    } finally {
      await p?.drop();
      if (work) await rm(work, { recursive: true, force: true });
    }
  });

  it('answers concurrent requests like the head ONNX on the same encoder, to 1e-5', async () => {
    expect(state.model.base).toEqual({ kind: 'encoder', hash: encoder.hash });
    const base = await createOnnxBase(exportBaseOnnx(state), { intraOpThreads: 1, encoder });
    const adapter = exportAdapter(state, { version: '1.0.0', modelName: model });
    const direct: RawPredictions = await base.createClassifier(adapter.bytes, adapter.manifest).predictRaw(texts);
    await base.release();
    const labels = [...state.labels];

    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-encoder-${run}`,
      MICRO_BATCH_MAX_WAIT_MS: '2', MICRO_BATCH_MAX_ITEMS: '8',
    });
    const url = `http://127.0.0.1:${serving.port}/v1/models/${model}/predict`;
    const answers = await Promise.all([...texts, ...texts, ...texts].map(async (text) => {
      const r = await fetch(url, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ text, topK: labels.length }) });
      expect(r.status).toBe(200);
      return (await r.json()) as Answer;
    }));
    answers.forEach((a, i) => {
      const row = i % texts.length;
      expect(a.modelVersion).toBe('1.0.0');
      expect(a.label).toBe(labels[direct.labelIndex[row]!]);
      for (const t of a.topK) expect(Math.abs(t.probability - direct.probabilities[row * labels.length + labels.indexOf(t.label)]!)).toBeLessThan(1e-5);
    });
    // not a constant model (the tiny random encoder and 8 epochs make no claim about accuracy)
    expect(new Set(Array.from(direct.labelIndex)).size).toBeGreaterThan(1);
  }, 120_000);
});
