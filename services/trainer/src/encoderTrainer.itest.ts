// Bring your own model (issue 15), on real PostgreSQL, Redis and the S3 API: a model on the user's
// frozen encoder (the tiny BERT built by the tests) is trained and registered, then retrained by the
// job runner twice; the second retrain embeds only texts it has not seen, and the embeddings the
// trainer cached equal the ones serving computes from the stored encoder. An imported classifier
// is retrained into a student on its encoder, or refused with what to do when it came without one.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importClassifier, importEncoderModel } from '@flywheel/cli';
import { JobId, ModelName, type ModelVersion } from '@flywheel/contracts';
import { createOnnxBase, createTextEncoder, FileEmbeddingCache, loadImportedClassifier, textHash, type Example } from '@flywheel/learning';
import { buildTinyBert, shippedClinc, writeTinyEncoder } from '@flywheel/learning/testing';
import { outboxMigrationsDir, runMigrations } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { inlineCandidateTrainer } from './candidateTrainer.js';
import { createJobRunner, type JobRunnerDeps } from './createJobRunner.js';
import { encoderFilesOf } from './encoderFiles.js';
import { pgOwnerLiveness } from './ownerLiveness.js';
import { PgJobStore } from './PgJobStore.js';
import type { FreshExamples } from './ports.js';
import type { JobSettings } from './runJob.js';
import { createTrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

let p: IsolatedPlatform;
let root: string;
let registry: PgRegistry;
let artifacts: MinioArtifactStore;
let leases: RetrainLeases;
let jobs: PgJobStore;
let encoderDir: string;

// Four CLINC150 domains (every 10th row): three at first, the fourth arrives as corrections.
const all = (await shippedClinc()).filter((e, i) => e.label !== 'oos' && i % 10 === 0);
const domains = [...new Set(all.map((e) => e.label))].sort().slice(0, 4);
const rows = all.filter((e) => domains.includes(e.label));
const first = rows.filter((e, i) => domains.slice(0, 3).includes(e.label) && i % 2 === 0);
const corrections = (part: number): Example[] => rows.filter((e, i) => i % 4 === part * 2 + 1).map((e) => ({ ...e, source: 'human_correction' as const }));

const options = { model: { hiddenUnits: [64] }, lora: { rank: 4, alpha: 8, dropout: 0 }, epochs: 6, batchSize: 32, learningRate: { fresh: 5e-3, continued: 3e-3 }, seed: 3 };
const settings = (cacheDir: string): JobSettings => ({
  gates: { minAccuracy: 0, maxForgetting: 1, minImprovement: -1 }, lockTtlMs: 60_000, keepAliveMs: 60_000, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 10,
  oldMaxRows: 5_000, holdoutFraction: 0.1, holdoutMaxRows: 500,
  trainOptions: { ...options, mode: 'lora', strategy: { replay: { capacity: 200, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 }, ewc: { lambda: 10, fisherSamples: 100, decay: 0.9 } } },
  embeddings: { cacheDir, threads: 1 },
});

const metrics = createTrainerMetrics(new Registry());
const deps = (fresh: Example[], cacheDir: string): JobRunnerDeps => ({
  jobs, registry, artifacts, leases,
  data: { fresh: async () => fresh as FreshExamples },
  train: inlineCandidateTrainer(),
  logger: p.logger,
  metrics,
  settings: settings(cacheDir),
  staleAfterMs: 60_000, orphanMinAgeMs: 3_600_000, owners: pgOwnerLiveness(p.pool, p.schema),
});

/** Queues a job for `model` as a trigger would (holding the lease) and runs it; returns the finished job. */
const retrain = async (model: ModelName, fresh: Example[], cacheDir: string) => {
  const lease = await leases.acquire(model, 60_000);
  const id = randomUUID();
  await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token });
  expect(await createJobRunner(deps(fresh, cacheDir)).runOnce()).toBe(true);
  return (await jobs.get(JobId.parse(id)))!;
};
const distinct = (texts: Iterable<string>): Set<string> => new Set(texts);

/**
 * Serving's view of a registered version is the trainer's: the encoder opened from the object store
 * embeds `texts` as the trainer cached them (to 1e-5), and the version runs in serving's engine on
 * it. Returns the served encoder's hash and width.
 */
const expectServedAsTrained = async (version: NonNullable<Awaited<ReturnType<PgRegistry['challenger']>>>, cacheDir: string, texts: string[]): Promise<{ hash: string; dim: number }> => {
  const manifest = await artifacts.readManifest(version.artifact);
  const served = await createTextEncoder(encoderFilesOf(await artifacts.readEncoderFiles(manifest.encoder!)), { intraOpNumThreads: 1 });
  const cache = new FileEmbeddingCache(cacheDir);
  try {
    const cached = await cache.get(served.hash, texts.map(textHash));
    (await served.embed(texts)).forEach((row, i) => {
      const trained = cached[i];
      expect(trained, `text ${i} is in the trainer's cache`).toBeDefined();
      row.forEach((v, d) => expect(Math.abs(v - trained![d]!)).toBeLessThan(1e-5));
    });
    const servingArtifacts = await artifacts.readServing(version.artifact);
    const base = await createOnnxBase(servingArtifacts.baseOnnx!, { encoder: served });
    const raw = await base.createClassifier(servingArtifacts.adapterBytes, servingArtifacts.adapterManifest).predictRaw(texts.slice(0, 4));
    expect(raw.probabilities).toHaveLength(4 * version.labels.length);
    await base.release();
    return { hash: served.hash, dim: served.dim };
  } finally {
    await cache.close();
    await served.release();
  }
};

beforeAll(async () => {
  p = await isolatedPlatform('trainer-enc');
  await runMigrations(p.pool, registryMigrationsDir, { table: 'registry_migrations' });
  await runMigrations(p.pool, outboxMigrationsDir, { table: 'outbox_migrations' });
  await runMigrations(p.pool, trainerMigrationsDir, { table: 'trainer_migrations' });
  registry = new PgRegistry(p.pool);
  artifacts = new MinioArtifactStore(await p.objectStore());
  leases = new RetrainLeases(new RedisLocks(p.redis, p.redisPrefix));
  jobs = new PgJobStore(p.pool, { models: `t-enc-${p.run}-%` });
  root = await mkdtemp(join(tmpdir(), 'flywheel-trainer-enc-'));
  encoderDir = (await writeTinyEncoder(join(root, 'encoder'), { texts: rows.map((e) => e.text), pooling: 'mean', maxLength: 32, seed: 11 })).dir;
}, 120_000);
afterAll(async () => {
  try {
    await rm(root, { recursive: true, force: true });
  } finally {
    await p?.drop();
  }
});

describe('trainer on an encoder base (real PostgreSQL, Redis, S3 API)', () => {
  it('trains and registers on the encoder, retrains twice; the second retrain embeds only new rows, with embeddings equal to serving\'s', async () => {
    const model = ModelName.parse(`t-enc-${p.run}-a`);
    const cacheDir = join(root, 'cache-a');
    const boot = await importEncoderModel({ registry, artifacts }, { model, dir: encoderDir, examples: first, trainOptions: options, actor: 'itest' });
    expect(boot.version.version).toBe('1.0.0');
    const hash = boot.encoder.hash;
    // stored once, content-hashed: a second import of the same folder uploads nothing
    const again = await importEncoderModel({ registry, artifacts }, { model: ModelName.parse(`t-enc-${p.run}-b`), dir: encoderDir, examples: first, trainOptions: options, actor: 'itest' });
    expect(again).toMatchObject({ uploaded: false, encoder: { hash } });
    expect(new Set((await (await p.objectStore()).list('encoders/')).map((k) => k.split('/')[1]))).toEqual(new Set([hash]));

    // Retrain 1: the trainer's cache is cold (the import ran elsewhere); a new domain arrives.
    const fresh1 = corrections(0);
    const job1 = await retrain(model, fresh1, cacheDir);
    expect(job1).toMatchObject({ state: 'succeeded' });
    const v1 = (await registry.challenger(model))!;
    expect(v1.labels).toContain(domains[3]);
    expect(v1.metrics).toMatchObject({ embeddingCacheHits: 0 });
    expect(v1.metrics.embeddingsComputed).toBe(v1.metrics.embeddingTexts);
    const manifest1 = await artifacts.readManifest(v1.artifact);
    expect(manifest1.encoder?.hash).toBe(hash);
    expect(manifest1.parentVersion).toBe('1.0.0');
    await registry.promote(model, v1.version, 'itest', 'the next retrain continues from it');

    // Retrain 2: everything the first retrain embedded is cached; only texts not seen before reach the encoder.
    const fresh2 = corrections(1);
    const seen = distinct([...first, ...fresh1].map((e) => e.text));
    const unseen = [...distinct(fresh2.map((e) => e.text))].filter((t) => !seen.has(t));
    expect(unseen.length).toBeGreaterThan(0);
    const job2 = await retrain(model, fresh2, cacheDir);
    expect(job2).toMatchObject({ state: 'succeeded' });
    const v2 = (await registry.challenger(model))!;
    expect(v2.parentVersion).toBe(v1.version);
    expect(v2.metrics.embeddingsComputed).toBe(unseen.length);
    expect(v2.metrics.embeddingCacheHits).toBe(v2.metrics.embeddingTexts! - unseen.length);
    expect(v2.metrics.embeddingCacheHits).toBeGreaterThan(0);
    const counted = Object.fromEntries((await metrics.embeddings.get()).values.filter((v) => v.labels.model === model).map((v) => [v.labels.result, v.value]));
    expect(counted).toEqual({ cached: v2.metrics.embeddingCacheHits, computed: v1.metrics.embeddingsComputed! + unseen.length });

    // Parity: serving opens the encoder from the object store; its embeddings equal the trainer's cached rows.
    const served = await expectServedAsTrained(v2, cacheDir, [...fresh2.slice(0, 20), ...first.slice(0, 20)].map((e) => e.text));
    expect(served).toEqual({ hash, dim: 64 });
  }, 240_000);

  it('a hybrid base (flywheel import --hybrid): stored with its n-gram half declared, retrained on it, and served on the same rows', async () => {
    const model = ModelName.parse(`t-enc-${p.run}-hyb`);
    const cacheDir = join(root, 'cache-hyb');
    const boot = await importEncoderModel({ registry, artifacts }, { model, dir: encoderDir, hybridBuckets: 256, examples: first, trainOptions: options, actor: 'itest' });
    const stored = await artifacts.readEncoderFiles(boot.encoder);
    expect(JSON.parse(new TextDecoder().decode(stored['flywheel-encoder.json']))).toMatchObject({ pooling: 'mean', maxLength: 32, hybrid: { buckets: 256 } });
    const job = await retrain(model, corrections(0), cacheDir);
    expect(job).toMatchObject({ state: 'succeeded' });
    const challenger = (await registry.challenger(model))!;
    expect(challenger.labels).toContain(domains[3]);
    const manifest = await artifacts.readManifest(challenger.artifact);
    expect(manifest.encoder?.hash).toBe(boot.encoder.hash);
    // Serving opens the stored folder: encoder row (64) and n-gram bag (256), equal to the trainer's cached rows.
    expect(await expectServedAsTrained(challenger, cacheDir, corrections(0).slice(0, 20).map((e) => e.text))).toEqual({ hash: boot.encoder.hash, dim: 64 + 256 });
  }, 240_000);

  it('retrains an imported classifier into a student on its encoder (a new major version), and refuses one imported without an encoder, saying what to do', async () => {
    const labels = domains.slice(0, 3);
    // The user's classifier: a tiny BERT with a logits head over its own WordPiece tokenizer.
    const { dir: classifierDir, vocab } = await writeTinyEncoder(join(root, 'classifier'), { texts: rows.map((e) => e.text), maxLength: 32, seed: 5 });
    await writeFile(join(classifierDir, 'model.onnx'), buildTinyBert({ vocabSize: vocab.length, classes: labels.length, seed: 4, maxPositions: 32 }));
    await writeFile(join(classifierDir, 'labels.txt'), labels.join('\n'));

    const bare = ModelName.parse(`t-enc-${p.run}-bare`);
    await importClassifier({ registry, artifacts }, { model: bare, dir: classifierDir, actor: 'itest' });
    const refused = await retrain(bare, corrections(0), join(root, 'cache-bare'));
    expect(refused.state).toBe('failed');
    expect(refused.reason).toMatch(/imported classifier imported without an encoder.*flywheel import --model .* --classifier DIR --encoder ENCODER_DIR/);
    expect((await registry.versions(bare)).map((v) => v.version)).toEqual(['1.0.0']);

    const model = ModelName.parse(`t-enc-${p.run}-imp`);
    const imported = await importClassifier({ registry, artifacts }, { model, dir: classifierDir, encoderDir, actor: 'itest' });
    expect(imported.studentEncoder?.hash).toBeDefined();
    // Live traffic the classifier answered confidently (pseudo-labels, its own answers) and corrections.
    const traffic = first.slice(0, 150);
    const classifier = await loadImportedClassifier(classifierDir);
    const answers = await classifier.predict(traffic.map((e) => e.text));
    await classifier.release();
    const fresh: Example[] = [...traffic.map((e, i) => ({ ...e, label: answers[i]!.label, source: 'pseudo_label' as const, confidence: 0.95 })), ...corrections(0)];
    const job = await retrain(model, fresh, join(root, 'cache-imp'));
    expect({ state: job.state, reason: job.reason }).toEqual({ state: 'succeeded', reason: undefined });
    const challenger = (await registry.challenger(model))!;
    expect(challenger.version).toBe('2.0.0' as ModelVersion);
    expect(challenger.parentVersion).toBe('1.0.0');
    expect(challenger.metrics).toMatchObject({ distilledFromImported: 1 });
    expect(challenger.metrics.championAccuracy).toBeTypeOf('number');
    expect(challenger.labels).toContain(domains[3]);
    const manifest = await artifacts.readManifest(challenger.artifact);
    expect(manifest.encoder?.hash).toBe(imported.studentEncoder!.hash);
    expect(manifest.kind ?? 'adapter').toBe('adapter');
  }, 240_000);
});
