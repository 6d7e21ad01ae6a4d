import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@flywheel/bus';
import { bootstrapModel } from '@flywheel/cli';
import { JobId, makeEvent, ModelName, type EventOf, type FencingToken } from '@flywheel/contracts';
import type { Example } from '@flywheel/learning';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { runMigrations, type Pool } from '@flywheel/postgres';
import { RedisLocks } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { inlineCandidateTrainer } from './candidateTrainer.js';
import { createTrainer, type TrainerDeps } from './createTrainer.js';
import { PgJobStore } from './PgJobStore.js';
import { PgTrainingData } from './PgTrainingData.js';
import { retrainLockKey, type JobSettings } from './runJob.js';
import { createTrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

const run = randomUUID().slice(0, 8);
const logger = createLogger({ service: 'trainer-itest', level: 'warn' });
// Private schema (registry, trainer and feedback tables together, as in a stack), Redis prefix,
// topic prefix and bucket; all removed in afterAll.
let p: IsolatedPlatform;
let schema: string;
let pool: Pool;
let locks: RedisLocks;
let registry: PgRegistry;
let jobs: PgJobStore;
let artifacts: MinioArtifactStore;
let store: MinioObjectStore;
let bus: Bus;

// Texts whose class is told by class-specific words among shared noise words.
const synthetic = (labels: string[], perClass: number, seed: number): Example[] => {
  let s = seed;
  const rnd = (n: number): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) % n);
  return labels.flatMap((label) => Array.from({ length: perClass }, (_, i) => ({
    text: [0, 1, 2].map(() => `${label}x${rnd(8)}`).concat([`noise${rnd(30)}`, `noise${rnd(30)}`]).join(' '),
    label, group: `${label}-${seed}-${i}`,
  })));
};
const tiny = {
  model: { features: { buckets: 2048, maxFeatures: 48 }, embeddingDim: 16, hiddenUnits: [32] },
  lora: { rank: 4, alpha: 8, dropout: 0 }, epochs: 4, batchSize: 32, embeddingLearningRate: 0.2, learningRate: { fresh: 1e-2, continued: 5e-3 }, seed: 7,
};
const lenient = { minAccuracy: 0, maxForgetting: 1, minImprovement: -1 };
const settings = (gates = lenient): JobSettings => ({
  gates, lockTtlMs: 60_000, keepAliveMs: 500, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 100, oldMaxRows: 5_000, holdoutFraction: 0.1, holdoutMaxRows: 500,
  trainOptions: { epochs: 3, batchSize: 32, strategy: { replay: { capacity: 200, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 }, ewc: { lambda: 100, fisherSamples: 100, decay: 0.9 } } },
});
const deps = (over: Partial<TrainerDeps> = {}): TrainerDeps => ({
  bus, jobs, registry, artifacts, data: new PgTrainingData(pool, schema), train: inlineCandidateTrainer(), locks, publisher: bus.publisher, logger,
  metrics: createTrainerMetrics(createMetricsRegistry('trainer-itest')), staleAfterMs: 60_000, orphanMinAgeMs: 3_600_000, group: `trainer-${run}`, pollMs: 200,
  settings: settings(), ...over,
});

/** Bootstraps a tiny model and writes corrections for it into the feedback table. */
const setupModel = async (): Promise<ModelName> => {
  const model = ModelName.parse(`t-${run}-${randomUUID().slice(0, 8)}`);
  await bootstrapModel({ registry, artifacts }, { model, examples: synthetic(['alpha', 'beta', 'gamma'], 60, 1), trainOptions: tiny, actor: 'itest' });
  const fixes = synthetic(['alpha', 'beta', 'gamma'], 15, 2);
  for (const f of fixes) {
    await pool.query(`INSERT INTO "${schema}".feedback (id, model, text, predicted_label, correct_label, kind) VALUES ($1, $2, $3, $4, $5, 'misclassification')`,
      [randomUUID(), model, f.text, f.label === 'alpha' ? 'beta' : 'alpha', f.label]);
  }
  return model;
};

beforeAll(async () => {
  p = await isolatedPlatform('trainer');
  ({ schema, pool } = p);
  locks = new RedisLocks(p.redis, p.redisPrefix);
  registry = new PgRegistry(pool);
  jobs = new PgJobStore(pool, { models: `t-${run}-%` });
  await migrateRegistry(pool);
  await runMigrations(pool, trainerMigrationsDir, { table: 'trainer_migrations' });
  await runMigrations(pool, fileURLToPath(new URL('../../feedback-ingest/migrations', import.meta.url)), { schema, table: 'feedback_ingest_migrations' });
  store = await p.objectStore();
  artifacts = new MinioArtifactStore(store);
  bus = p.newBus();
});
afterAll(async () => {
  try {
    await bus?.close();
  } finally {
    await p?.drop();
  }
});

describe('trainer (real PostgreSQL, Redis, Kafka protocol, S3 API)', () => {
  it('turns a trigger into a registered challenger with artifacts in S3, history rows and events, and releases the lock', async () => {
    const model = await setupModel();
    const champion = await registry.champion(model);
    const seen: EventOf<'modelUpdates'>[] = [];
    const statuses: string[] = [];
    const watcher = await bus.consume(`watch-${run}`, {
      modelUpdates: async (e) => { if (e.subject === model) seen.push(e); },
      trainingStatus: async (e) => { if (e.subject === model) statuses.push(e.data.state); },
    });
    const trainer = createTrainer(deps());
    await trainer.start();
    try {
      const lease = await locks.acquire(retrainLockKey(model), 60_000); // what the aggregator does before it fires
      expect(lease).toBeDefined();
      await bus.publisher.publish('retrainingTriggers', makeEvent('retrainingTriggers', {
        source: '/test', subject: model, data: { reason: 'threshold', details: { pendingCorrections: 45 }, requestedBy: 'itest', fencingToken: lease!.token as FencingToken },
      }));
      const deadline = Date.now() + 50_000;
      while (!seen.some((e) => e.data.action === 'challenger_registered') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      const event = seen.find((e) => e.data.action === 'challenger_registered');
      expect(event?.data).toMatchObject({ action: 'challenger_registered', version: '1.0.1' });
      const challenger = await registry.challenger(model);
      expect(challenger).toMatchObject({ version: '1.0.1', status: 'challenger', parentVersion: champion?.version });
      expect(challenger?.metrics.accuracy).toBeGreaterThan(0.5);
      // Artifacts: every file present and verified through the manifest.
      const keys = await store.list(`models/${model}/1.0.1/`);
      for (const f of ['manifest.json', 'adapter.bin', 'adapter.json', 'dataset.jsonl', 'state/state.json', 'state/fisher.bin', 'state/replay.jsonl']) expect(keys).toContain(`models/${model}/1.0.1/${f}`);
      const served = await artifacts.readServing(challenger!.artifact);
      expect(served.manifest.parentVersion).toBe('1.0.0');
      expect(Buffer.from(await artifacts.readDataset(challenger!.artifact)).toString()).toContain('human_correction');
      const history = (await registry.history(model)).filter((h) => h.version === '1.0.1');
      expect(history.map((h) => [h.fromStatus, h.toStatus, h.actor])).toEqual([[null, 'registered', 'trainer'], ['registered', 'challenger', 'trainer']]);
      expect(history[1]?.metrics.forgetting).toBeTypeOf('number');
      expect(await locks.holder(retrainLockKey(model))).toBeUndefined();
      const deadline2 = Date.now() + 5_000;
      while (!statuses.includes('succeeded') && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 100));
      expect(statuses).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
    } finally {
      await trainer.stop();
      await watcher.stop();
    }
  });

  it('records a failing gate with its reason and registers nothing', async () => {
    const model = await setupModel();
    const id = randomUUID();
    const lease = await locks.acquire(retrainLockKey(model), 60_000);
    expect((await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token as FencingToken })).kind).toBe('queued');
    const trainer = createTrainer(deps({ settings: settings({ minAccuracy: 1.01, maxForgetting: 0, minImprovement: 1 }) }));
    expect(await trainer.runOnce()).toBe(true);
    const job = await jobs.get(JobId.parse(id));
    expect(job?.state).toBe('rejected');
    expect(job?.reason).toMatch(/quality gate failed: accuracy .* below the minimum 101.00%/);
    expect((await registry.versions(model)).map((v) => v.version)).toEqual(['1.0.0']);
    expect(await store.list(`models/${model}/1.0.1/`)).toEqual([]);
    expect(await locks.holder(retrainLockKey(model))).toBeUndefined();
  });

  it('refuses a trigger whose fencing token is lower than one already accepted', async () => {
    const model = ModelName.parse(`t-${run}-${randomUUID().slice(0, 8)}`);
    const trig = (t: number) => ({ reason: 'manual' as const, details: {}, requestedBy: 'itest', fencingToken: t as FencingToken });
    expect((await jobs.enqueue(randomUUID(), model, trig(10))).kind).toBe('queued');
    const stale = randomUUID();
    expect(await jobs.enqueue(stale, model, trig(9))).toEqual({ kind: 'stale', highest: 10 });
    expect(await jobs.get(JobId.parse(stale))).toMatchObject({ state: 'failed', reason: 'stale fencing token 9 < 10' });
    await pool.query(`UPDATE training_jobs SET state = 'failed' WHERE model = $1`, [model]); // nothing to run here
  });

  it('after a trainer dies mid-upload, recovery fails the job, removes the half-written version and releases the lock', async () => {
    const model = await setupModel();
    const lease = await locks.acquire(retrainLockKey(model), 60_000);
    const id = randomUUID();
    await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token as FencingToken });
    // The dead trainer: claimed the job, picked a version, uploaded part of it, never registered.
    const job = await jobs.claimNext();
    expect(job?.id).toBe(id);
    await jobs.update(job!.id, { version: '1.0.1' as never, stage: 'uploading' });
    await store.put(`models/${model}/1.0.1/upload.json`, JSON.stringify({ startedAt: new Date().toISOString() }));
    await store.put(`models/${model}/1.0.1/adapter.bin`, 'half');
    await pool.query(`UPDATE training_jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, [id]);

    const trainer = createTrainer(deps({ staleAfterMs: 60_000 }));
    expect(await trainer.recover()).toBeGreaterThanOrEqual(1);
    expect(await jobs.get(JobId.parse(id))).toMatchObject({ state: 'failed', reason: 'trainer restarted' });
    expect(await store.list(`models/${model}/1.0.1/`)).toEqual([]);
    expect(await registry.hasVersion(model, '1.0.1')).toBe(false);
    expect(await locks.holder(retrainLockKey(model))).toBeUndefined();
    expect((await registry.champion(model))?.version).toBe('1.0.0');
  });
});
