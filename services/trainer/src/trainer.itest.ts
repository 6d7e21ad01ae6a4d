import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@flywheel/bus';
import { bootstrapModel } from '@flywheel/cli';
import { FLYWHEEL_SOURCES, JobId, makeEvent, ModelName, type EventOf } from '@flywheel/contracts';
import type { Example } from '@flywheel/learning';
import { startLocalStack, type LocalStack } from '@flywheel/local-stack';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { createOutboxRelay, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService, type Service } from '@flywheel/service';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { inlineCandidateTrainer } from './candidateTrainer.js';
import { TrainerConfig } from './config.js';
import { createJobRunner, type JobRunnerDeps } from './createJobRunner.js';
import { HttpTrainingData } from './HttpTrainingData.js';
import { onRetrainingTriggers } from './onRetrainingTriggers.js';
import { pgOwnerLiveness } from './ownerLiveness.js';
import { PgJobStore } from './PgJobStore.js';
import { uploadAttempt, type JobSettings } from './runJob.js';
import { createTrainerMetrics, type TrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

const run = randomUUID().slice(0, 8);
// Private schema (registry, trainer, outbox and feedback-ingest's tables, as in a stack), Redis
// prefix, topic prefix and bucket; feedback-ingest runs as a process on the same schema. All removed in afterAll.
let p: IsolatedPlatform;
let ingest: LocalStack;
let svc: Service;
let config: TrainerConfig;
let leases: RetrainLeases;
let registry: PgRegistry;
let jobs: PgJobStore;
let artifacts: MinioArtifactStore;
let store: MinioObjectStore;
let bus: Bus;
let announced: () => void;
let metrics: TrainerMetrics;

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
/** The job runner as main.ts builds it, over the service's stores; tests override a part. */
const deps = (over: Partial<JobRunnerDeps> = {}): JobRunnerDeps => ({
  jobs, registry, artifacts, data: new HttpTrainingData({ baseUrl: config.FEEDBACK_URL, token: config.ADMIN_TOKEN }), train: inlineCandidateTrainer(), leases, logger: svc.logger,
  metrics, staleAfterMs: 60_000, orphanMinAgeMs: 3_600_000, settings: settings(), owners: pgOwnerLiveness(svc.pool(), config.PG_SCHEMA), ...over,
});

/** Polls until `get` returns something; the error says what was awaited and what was seen last. */
const waitFor = async <T>(what: string, get: () => Promise<T | undefined>, seen: () => unknown, ms = 50_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; last seen: ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

/** Bootstraps a tiny model and reports corrections for it to feedback-ingest (as the trusted admin client). */
const setupModel = async (kind: 'loop' | 'm' = 'm'): Promise<ModelName> => {
  const model = ModelName.parse(`t-${run}-${kind}-${randomUUID().slice(0, 8)}`);
  await bootstrapModel({ registry, artifacts }, { model, examples: synthetic(['alpha', 'beta', 'gamma'], 60, 1), trainOptions: tiny, actor: 'itest' });
  const items = synthetic(['alpha', 'beta', 'gamma'], 15, 2).map((f) => ({ model, text: f.text, kind: 'misclassification', predictedLabel: f.label === 'alpha' ? 'beta' : 'alpha', correctLabel: f.label }));
  let last = 0;
  // The ingest learns of the new model at its next catalog refresh: a 404 until then.
  await waitFor(`feedback-ingest to accept corrections for ${model}`, async () => {
    const r = await fetch(`${config.FEEDBACK_URL}/v1/feedback/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${config.ADMIN_TOKEN}` }, body: JSON.stringify({ items }) });
    last = r.status;
    return r.status === 202 ? true : undefined;
  }, () => last, 20_000);
  return model;
};

beforeAll(async () => {
  p = await isolatedPlatform('trainer');
  ingest = await startLocalStack({
    services: ['feedback-ingest'], pgSchema: p.schema, runId: `trainer-${p.run}`, logDir: join(tmpdir(), `trainer-itest-${p.run}`),
    env: { 'feedback-ingest': { REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix, LOG_LEVEL: 'warn' } },
  });
  const s3 = p.s3;
  config = TrainerConfig.parse({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS, POSTGRES_URL: process.env.POSTGRES_URL, REDIS_URL: process.env.REDIS_URL, LOG_LEVEL: 'warn', PORT: '0',
    PG_SCHEMA: p.schema, REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix,
    S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: s3.bucket,
    FEEDBACK_URL: ingest.url('feedback-ingest'), ADMIN_TOKEN: ingest.adminToken,
    // The running service takes only the models of the first test; the others run their jobs by hand.
    TRAINER_MODELS: `t-${run}-loop-%`,
  });
  // Composed as main.ts composes it, in this file's schema, prefixes and bucket.
  svc = createService({ name: 'trainer-itest', config, handleSignals: false });
  await svc.migrate(registryMigrationsDir, 'registry_migrations');
  await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
  await svc.migrate(trainerMigrationsDir, 'trainer_migrations');
  const relay = createOutboxRelay({ pool: svc.pool(), publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.trainer, idlePollMs: 50 });
  svc.onStop(() => relay.stop());
  announced = () => relay.nudge();
  metrics = createTrainerMetrics(svc.metrics);
  leases = new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX));
  registry = new PgRegistry(svc.pool());
  store = await svc.objectStore();
  artifacts = new MinioArtifactStore(store);
  jobs = new PgJobStore(svc.pool(), { models: `t-${run}-m-%`, announced });
  const serviceJobs = new PgJobStore(svc.pool(), { models: config.TRAINER_MODELS, announced });
  const runner = createJobRunner(deps({ jobs: serviceJobs }));
  const training = svc.every('training-jobs', 200, runner.runOnce);
  svc.consume(`trainer-${run}`, { retrainingTriggers: onRetrainingTriggers({ jobs: serviceJobs, metrics, logger: svc.logger, wake: () => void training.runNow() }) });
  relay.start();
  await svc.start();
  bus = p.newBus();
}, 120_000);
afterAll(async () => {
  try {
    await svc?.stop();
    await bus?.close();
    await ingest?.stopAll();
  } finally {
    await p?.drop();
  }
});

describe('trainer (real PostgreSQL, Redis, Kafka protocol, S3 API, feedback-ingest)', () => {
  it('turns a trigger into a registered challenger with artifacts in S3, history rows and events, and releases the lease', async () => {
    const model = await setupModel('loop');
    const champion = await registry.champion(model);
    const seen: EventOf<'modelUpdates'>[] = [];
    const statuses: string[] = [];
    const watcher = await bus.consume(`watch-${run}`, {
      modelUpdates: async (e) => { if (e.subject === model) seen.push(e); },
      trainingStatus: async (e) => { if (e.subject === model) statuses.push(e.data.state); },
    });
    try {
      const lease = await leases.acquire(model, 60_000); // what the aggregator does before it fires
      expect(lease).toBeDefined();
      await bus.publisher.publish('retrainingTriggers', makeEvent('retrainingTriggers', {
        source: FLYWHEEL_SOURCES.aggregator, subject: model, data: { reason: 'threshold', details: { pendingCorrections: 45 }, requestedBy: 'itest', fencingToken: lease!.token },
      }));
      const event = await waitFor('challenger_registered on model-updates', async () => seen.find((e) => e.data.action === 'challenger_registered'), () => ({ seen: seen.map((e) => e.data.action), statuses }), 90_000);
      expect(event.data).toMatchObject({ action: 'challenger_registered', version: '1.0.1' });
      const challenger = await registry.challenger(model);
      expect(challenger).toMatchObject({ version: '1.0.1', status: 'challenger', parentVersion: champion?.version });
      expect(challenger?.metrics.accuracy).toBeGreaterThan(0.5);
      // Artifacts: every file present and verified through the manifest.
      // The upload sits in its own folder under the version (job id and epoch), where the registry's ref points.
      const folder = challenger!.artifact.prefix;
      expect(folder).toMatch(new RegExp(`^models/${model}/1\\.0\\.1/[0-9a-f-]{36}-e1/$`));
      const keys = await store.list(`models/${model}/1.0.1/`);
      for (const f of ['manifest.json', 'adapter.bin', 'adapter.json', 'dataset.jsonl', 'state/state.json', 'state/fisher.bin', 'state/replay.jsonl']) expect(keys).toContain(`${folder}${f}`);
      const served = await artifacts.readServing(challenger!.artifact);
      expect(served.manifest.parentVersion).toBe('1.0.0');
      expect(Buffer.from(await artifacts.readDataset(challenger!.artifact)).toString()).toContain('human_correction');
      const history = (await registry.history(model)).filter((h) => h.version === '1.0.1');
      expect(history.map((h) => [h.fromStatus, h.toStatus, h.actor])).toEqual([[null, 'registered', 'trainer'], ['registered', 'challenger', 'trainer']]);
      expect(history[1]?.metrics.forgetting).toBeTypeOf('number');
      expect(await leases.holder(model)).toBeUndefined();
      await waitFor('the succeeded training-status', async () => (statuses.includes('succeeded') ? true : undefined), () => statuses, 10_000);
      expect(statuses).toEqual(expect.arrayContaining(['queued', 'running', 'succeeded']));
    } finally {
      await watcher.stop();
    }
  }, 120_000);

  it('records a failing gate with its reason and registers nothing', async () => {
    const model = await setupModel();
    const id = randomUUID();
    const lease = await leases.acquire(model, 60_000);
    expect((await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token })).kind).toBe('queued');
    const runner = createJobRunner(deps({ settings: settings({ minAccuracy: 1.01, maxForgetting: 0, minImprovement: 1 }) }));
    expect(await runner.runOnce()).toBe(true);
    const job = await jobs.get(JobId.parse(id));
    expect(job?.state).toBe('rejected');
    expect(job?.reason).toMatch(/quality gate failed: accuracy .* below the minimum 101.00%/);
    expect((await registry.versions(model)).map((v) => v.version)).toEqual(['1.0.0']);
    expect(await store.list(`models/${model}/1.0.1/`)).toEqual([]);
    expect(await leases.holder(model)).toBeUndefined();
  }, 90_000);

  it('aborts a job whose lease cannot be extended (a newer trigger took the model while it trained): failed, nothing registered, the new holder keeps it', async () => {
    const model = await setupModel();
    const id = randomUUID();
    const lease = await leases.acquire(model, 60_000);
    await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token });
    let newer: Awaited<ReturnType<RetrainLeases['acquire']>>;
    const trainThenLoseLease: JobRunnerDeps['train'] = async (input) => {
      const out = await inlineCandidateTrainer()(input);
      // While it trained, its lease expired and another trigger took the model.
      expect(await leases.release(lease!)).toBe(true);
      newer = await leases.acquire(model, 60_000);
      return out;
    };
    const runner = createJobRunner(deps({ train: trainThenLoseLease }));
    expect(await runner.runOnce()).toBe(true);
    const job = await jobs.get(JobId.parse(id));
    expect(job?.state).toBe('failed');
    expect(job?.reason).toMatch(new RegExp(`retraining lease of ${model} .*could not be extended \\(token ${newer!.token} holds it`));
    expect(job?.reason).toMatch(/registered nothing/);
    expect((await registry.versions(model)).map((v) => v.version)).toEqual(['1.0.0']);
    expect(await store.list(`models/${model}/1.0.1/`)).toEqual([]);
    expect(await leases.holder(model)).toBe(newer!.token);
    await leases.release(newer!);
  }, 90_000);

  it('refuses a trigger whose fencing token is lower than one already accepted', async () => {
    const model = ModelName.parse(`t-${run}-m-${randomUUID().slice(0, 8)}`);
    const trig = (t: number) => ({ reason: 'manual' as const, details: {}, requestedBy: 'itest', fencingToken: t as never });
    expect((await jobs.enqueue(randomUUID(), model, trig(10))).kind).toBe('queued');
    const stale = randomUUID();
    expect(await jobs.enqueue(stale, model, trig(9))).toEqual({ kind: 'stale', highest: 10 });
    expect(await jobs.get(JobId.parse(stale))).toMatchObject({ state: 'failed', reason: 'stale fencing token 9 < 10' });
    await svc.pool().query(`UPDATE training_jobs SET state = 'failed' WHERE model = $1`, [model]); // nothing to run here
  });

  it('after a trainer dies mid-upload, recovery fails the job, removes the half-written version and releases the lease', async () => {
    const model = await setupModel();
    const lease = await leases.acquire(model, 60_000);
    const id = randomUUID();
    await jobs.enqueue(id, model, { reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: lease!.token });
    // The dead trainer: claimed the job, picked a version, uploaded part of it, never registered.
    const job = await jobs.claimNext();
    expect(job?.id).toBe(id);
    await jobs.update(job!, { version: '1.0.1' as never, stage: 'uploading' });
    const folder = `models/${model}/1.0.1/${uploadAttempt(job!)}/`;
    await store.put(`${folder}upload.json`, JSON.stringify({ startedAt: new Date().toISOString() }));
    await store.put(`${folder}adapter.bin`, 'half');
    // Another attempt at the same version (its own folder) must survive the dead job's cleanup.
    await store.put(`models/${model}/1.0.1/other-e1/adapter.bin`, 'someone else');
    await svc.pool().query(`UPDATE training_jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, [id]);
    await leases.release(lease!); // the dead trainer stopped extending it: it expired

    const runner = createJobRunner(deps({ staleAfterMs: 60_000 }));
    expect(await runner.recover()).toBeGreaterThanOrEqual(1);
    expect(await jobs.get(JobId.parse(id))).toMatchObject({ state: 'failed', reason: 'trainer restarted' });
    expect(await store.list(`models/${model}/1.0.1/`)).toEqual([`models/${model}/1.0.1/other-e1/adapter.bin`]);
    await store.remove([`models/${model}/1.0.1/other-e1/adapter.bin`]);
    expect(await registry.hasVersion(model, '1.0.1')).toBe(false);
    expect(await leases.holder(model)).toBeUndefined();
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    // The failure is announced through the outbox, with the job change.
    const { rows } = await svc.pool().query(`SELECT event->'data'->>'state' AS state FROM flywheel_outbox WHERE topic = 'trainingStatus' AND event->'data'->>'jobId' = $1`, [id]);
    expect(rows.map((r: { state: string }) => r.state)).toContain('failed');
  }, 90_000);
});
