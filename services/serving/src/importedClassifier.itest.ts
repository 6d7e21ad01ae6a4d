// Bring your own model (issue 15): a user's classifier folder imported with the CLI's import
// command on the real registry and object store, then served as it is by serving composed as
// main.ts composes it. Own schema, Redis prefix, topic prefix and bucket, removed in afterAll.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelName, ModelVersion } from '@flywheel/contracts';
import { importClassifier } from '@flywheel/cli';
import { loadImportedClassifier, type ImportedClassifier } from '@flywheel/learning';
import { writeTinyEncoder } from '@flywheel/learning/testing';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';

const run = randomUUID().slice(0, 8);
const model = `itest-import-${run}`;
const labels = ['billing', 'travel', 'music'];
const corpus = ['what is my balance', 'pay my credit card bill', 'book a flight to paris', 'reserve a hotel in rome', 'play some jazz music', 'skip this song'];
const texts = ['what is my balance', 'book a flight to paris tomorrow', 'play some music', 'Crème brûlée 🎉 à Paris', '🎉', 'pay my bill '.repeat(150)];

interface Answer { label: string; confidence: number; modelVersion: string; topK: { label: string; probability: number }[] }

describe('an imported classifier, registered by flywheel import and served as it is', () => {
  let p: IsolatedPlatform;
  let work: string;
  let dir: string;
  let registry: PgRegistry;
  let artifacts: MinioArtifactStore;
  let serving: InProcessServing | undefined;
  let direct: ImportedClassifier;
  let base = '';

  beforeAll(async () => {
    p = await isolatedPlatform('serving-import');
    await migrateRegistry(p.pool);
    registry = new PgRegistry(p.pool);
    artifacts = new MinioArtifactStore(await p.objectStore());
    work = await mkdtemp(join(tmpdir(), 'flywheel-import-itest-'));
    // A Hugging Face text-classification export as the user has it: model.onnx (logits), tokenizer.json, config.json id2label.
    dir = (await writeTinyEncoder(join(work, 'classifier'), { texts: corpus, minCharCount: 1, classes: labels.length, seed: 11, maxLength: 64 })).dir;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ architectures: ['BertForSequenceClassification'], id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])) }));
    direct = await loadImportedClassifier(dir);
  }, 120_000);

  afterAll(async () => {
    try {
      await serving?.close();
      await direct?.release();
    } finally {
      await p?.drop();
      if (work) await rm(work, { recursive: true, force: true });
    }
  });

  it('imports the folder once under its content hash and registers champion 1.0.0 of kind imported-classifier', async () => {
    const r = await importClassifier({ registry, artifacts }, { model, dir, actor: 'itest' });
    expect(r.version.version).toBe('1.0.0');
    expect(r.version.status).toBe('champion');
    expect(r.version.labels).toEqual(labels);
    expect(r.uploaded).toBe(true);
    expect(r.encoder.hash).toBe(direct.hash);
    expect(Object.keys(r.encoder.files).sort()).toEqual(['labels.txt', 'model.onnx', 'tokenizer.json', 'flywheel-encoder.json'].sort());
    expect(r.encoder.tokenizer?.type).toBe('WordPiece');
    const manifest = await artifacts.readManifest(r.version.artifact);
    expect(manifest.kind).toBe('imported-classifier');
    expect(manifest.encoder?.hash).toBe(direct.hash);
    expect(manifest.base).toBeUndefined();

    // A second version on the same folder stores nothing new: both manifests point at one copy.
    const again = await importClassifier({ registry, artifacts }, { model, dir, version: '1.0.1', actor: 'itest', reason: 'same model again' });
    expect(again.version.version).toBe('1.0.1');
    expect(again.uploaded).toBe(false);
    expect(again.encoder).toEqual(r.encoder);
    const store = await p.objectStore();
    expect((await store.list('encoders/')).filter((k) => k.endsWith('/encoder.json'))).toEqual([`encoders/${direct.hash}/encoder.json`]);
  });

  it('refuses a folder without labels or without its tokenizer, naming what is missing', async () => {
    const bare = (await writeTinyEncoder(join(work, 'bare'), { texts: corpus, minCharCount: 1, classes: 3, seed: 3 })).dir;
    await expect(importClassifier({ registry, artifacts }, { model, dir: bare, actor: 'itest' })).rejects.toThrow(/names no labels.*config\.json.*labels\.txt/);
    await expect(importClassifier({ registry, artifacts }, { model, dir: join(work, 'nowhere'), actor: 'itest' })).rejects.toThrow(/has no model\.onnx and tokenizer\.json/);
    // a taken version is refused before anything is written, so its manifest stays as registered
    await expect(importClassifier({ registry, artifacts }, { model, dir, version: '1.0.0', actor: 'itest' })).rejects.toThrow(/1\.0\.0 is already registered/);
    const first = await registry.version(model as ModelName, '1.0.0' as ModelVersion);
    await expect(artifacts.readManifest(first!.artifact)).resolves.toMatchObject({ kind: 'imported-classifier' });
  });

  it('serves the champion with its own labels and the same probabilities as the folder loaded directly', async () => {
    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-import-${run}`,
      MICRO_BATCH_MAX_WAIT_MS: '2', MICRO_BATCH_MAX_ITEMS: '16',
    });
    base = `http://127.0.0.1:${serving.port}`;
    const expected = await direct.predict(texts);
    const predict = async (text: string): Promise<Answer> => {
      const r = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ text, topK: labels.length }) });
      expect(r.status).toBe(200);
      return (await r.json()) as Answer;
    };
    // Concurrent single requests: they meet in the micro-batcher and share encoder runs.
    const answers = await Promise.all([...texts, ...texts, ...texts].map(predict));
    answers.forEach((a, i) => {
      const want = expected[i % texts.length]!;
      expect(a.modelVersion).toBe('1.0.1');
      expect(a.label).toBe(want.label);
      expect(a.confidence).toBeCloseTo(want.confidence, 5);
      expect(a.topK.map((t) => t.label).sort()).toEqual([...labels].sort());
      for (const t of a.topK) expect(Math.abs(t.probability - want.probabilities[t.label]!)).toBeLessThan(1e-5);
    });
    // The model is not constant: the texts do not all get the same answer.
    expect(new Set(expected.map((e) => e.confidence)).size).toBeGreaterThan(1);

    const batch = await fetch(`${base}/v1/models/${model}/predict:batch`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ items: texts.map((text) => ({ text })), topK: labels.length }) });
    expect(batch.status).toBe(200);
    const { predictions } = (await batch.json()) as { predictions: Answer[] };
    predictions.forEach((a, i) => {
      expect(a.label).toBe(expected[i]!.label);
      for (const t of a.topK) expect(Math.abs(t.probability - expected[i]!.probabilities[t.label]!)).toBeLessThan(1e-5);
    });
    // Every row went through the micro-batcher into encoder runs (how many runs depends on timing; the unit test checks batching).
    const runs = (await serving.metrics.encoderBatchRows.get()).values;
    expect(runs.find((v) => v.metricName === 'flywheel_serving_encoder_batch_rows_sum')?.value).toBe(3 * texts.length + texts.length);
  }, 120_000);
});
