// One writer per training job (issue 13, part 4), on real PostgreSQL and Redis: a stale owner's
// writes are refused by the database, a Redis FLUSHALL mid-job never yields a second job for the
// trigger, and recovery leaves a live job (and its upload) alone.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLYWHEEL_SOURCES, makeEvent, ModelName, type ModelVersion, type RetrainingRequested } from '@flywheel/contracts';
import { createPgLeadership, outboxMigrationsDir, runMigrations } from '@flywheel/postgres';
import { createRedis, RedisLocks, RetrainLeases, type Redis } from '@flywheel/redis';
import { isolatedPlatform, until, type IsolatedPlatform } from '@flywheel/testing';
import { createJobRunner, type JobRunnerDeps } from './createJobRunner.js';
import { onRetrainingTriggers } from './onRetrainingTriggers.js';
import { ownerLeaseKey, pgOwnerLiveness } from './ownerLiveness.js';
import { NotJobOwner, PgJobStore } from './PgJobStore.js';
import type { JobDeps } from './runJob.js';
import { createTrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

let p: IsolatedPlatform;
// A private Redis: this file flushes it, which the shared one must never see.
let redisServer: ChildProcess;
let redis: Redis;
let leases: RetrainLeases;

const freePort = (): Promise<number> => new Promise((resolve, reject) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const a = srv.address();
    srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
  });
});

beforeAll(async () => {
  p = await isolatedPlatform('trainer-own');
  await runMigrations(p.pool, outboxMigrationsDir, { table: 'outbox_migrations' });
  await runMigrations(p.pool, trainerMigrationsDir, { table: 'trainer_migrations' });
  const port = await freePort();
  redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const listening = (): Promise<boolean> => new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true))).on('error', () => resolve(false));
  });
  await until('private redis-server to listen', listening, 10_000);
  redis = createRedis(`redis://127.0.0.1:${port}`);
  leases = new RetrainLeases(new RedisLocks(redis, 't-own'));
});
afterAll(async () => {
  try {
    await redis?.quit().catch(() => undefined);
    redisServer?.kill('SIGTERM');
  } finally {
    await p?.drop();
  }
});

const newModel = (): ModelName => ModelName.parse(`t-own-${randomUUID().slice(0, 8)}`);
const trigger = (token: number): RetrainingRequested => ({ reason: 'manual', details: {}, requestedBy: 'itest', fencingToken: token }) as unknown as RetrainingRequested;
const store = (model: string, owner: string) => new PgJobStore(p.pool, { models: model, owner });
const jobRow = async (id: string) => (await p.pool.query('SELECT state, owner, epoch, stage, reason FROM training_jobs WHERE id = $1', [id])).rows[0] as { state: string; owner: string; epoch: string; stage: string; reason: string };
const ageHeartbeat = (id: string) => p.pool.query(`UPDATE training_jobs SET heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, [id]);

/** Fakes of what a job reads and writes outside training_jobs; the job store and the leases are real. */
const fakes = (removed: string[], train: JobDeps['train']): Omit<JobRunnerDeps, 'jobs'> => ({
  registry: {
    champion: async () => ({ version: '1.0.0', labels: ['a', 'b'], artifact: { bucket: 'b', prefix: 'x/', manifestKey: 'x/manifest.json', sha256: '0'.repeat(64) } }),
    nextVersion: async () => '1.0.1',
    hasVersion: async () => false,
    version: async () => undefined,
    countByStatus: async () => [],
    registerChallenger: async () => { throw new Error('not reached in these tests'); },
  } as unknown as JobDeps['registry'],
  artifacts: {
    readManifest: async () => ({ kind: 'adapter' }),
    readTrainingState: async () => ({}),
    readDataset: async () => new TextEncoder().encode('{"text":"t","label":"a"}\n'),
    removeVersion: async (model: string, version: string, attempt?: string) => { removed.push(`${model}@${version}${attempt ? `/${attempt}` : ''}`); },
    sweepOrphans: async () => [],
  } as unknown as JobDeps['artifacts'],
  data: { fresh: async () => [{ text: 'new', label: 'a' }] },
  train,
  leases,
  logger: p.logger,
  metrics: createTrainerMetrics(new Registry()),
  settings: { gates: { minAccuracy: 0, maxForgetting: 1, minImprovement: -1 }, lockTtlMs: 60_000, keepAliveMs: 60_000, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 10, oldMaxRows: 10, holdoutFraction: 0.1, holdoutMaxRows: 10, trainOptions: {} },
  staleAfterMs: 60_000,
  orphanMinAgeMs: 3_600_000,
  owners: pgOwnerLiveness(p.pool, p.schema),
});
const notTrained: JobDeps['train'] = async () => { throw new Error('not reached'); };

describe('one writer per training job (real PostgreSQL and Redis)', () => {
  it('refuses every write of an owner whose job was taken over, and a finished job never runs again', async () => {
    const model = newModel();
    const [a, b] = [store(model, 'trainer-a'), store(model, 'trainer-b')];
    const id = randomUUID();
    expect((await a.enqueue(id, model, trigger(5))).kind).toBe('queued');
    const mine = await a.claimNext();
    expect(mine).toMatchObject({ id, owner: 'trainer-a', epoch: 1, state: 'running' });
    await a.update(mine!, { stage: 'training', progress: 0.2 });

    // Trainer a stops answering; b takes the job over (compare-and-set on the epoch a holds).
    await ageHeartbeat(id);
    const theirs = await b.takeOver(mine!, 60_000);
    expect(theirs).toMatchObject({ owner: 'trainer-b', epoch: 2 });
    expect(await b.takeOver(mine!, 60_000)).toBeUndefined(); // a second takeover with the old epoch finds nothing

    await expect(a.update(mine!, { stage: 'gating', progress: 0.8 })).rejects.toBeInstanceOf(NotJobOwner);
    await expect(a.heartbeat(mine!)).rejects.toBeInstanceOf(NotJobOwner);
    await expect(a.finish(mine!, 'succeeded', {})).rejects.toBeInstanceOf(NotJobOwner);
    await expect(a.finishAfter(mine!, async () => 'ran', () => ({ state: 'succeeded', patch: {}, announce: [] }))).rejects.toBeInstanceOf(NotJobOwner);
    expect(await jobRow(id)).toMatchObject({ state: 'running', owner: 'trainer-b', epoch: '2', stage: 'training' });

    await b.finish(theirs!, 'failed', { reason: 'trainer restarted' });
    // The database itself keeps a finished job finished, whoever writes.
    await expect(p.pool.query(`UPDATE training_jobs SET state = 'running' WHERE id = $1`, [id])).rejects.toThrow(/already failed/);
    expect(await jobRow(id)).toMatchObject({ state: 'failed', reason: 'trainer restarted' });
  });

  it('a takeover waits for an owner that is registering, then finds the job finished', async () => {
    const model = newModel();
    const [a, b] = [store(model, 'trainer-a'), store(model, 'trainer-b')];
    const id = randomUUID();
    await a.enqueue(id, model, trigger(3));
    const mine = (await a.claimNext())!;
    await ageHeartbeat(id);
    let registering!: () => void;
    const inside = new Promise<void>((r) => (registering = r));
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const finishing = a.finishAfter(mine, async () => { registering(); await gate; return 'registered'; }, () => ({ state: 'succeeded', patch: { version: '1.0.1' as ModelVersion }, announce: [] }));
    await inside;
    const takeover = b.takeOver(mine, 60_000); // blocks on the row a holds
    letGo();
    expect(await finishing).toBe('registered');
    expect(await takeover).toBeUndefined();
    expect(await jobRow(id)).toMatchObject({ state: 'succeeded', owner: 'trainer-a', epoch: '1' });
  });

  it('a Redis FLUSHALL mid-job: the job stops, the redelivered trigger is a duplicate, and a new grant waits its turn', async () => {
    const model = newModel();
    const jobs = store(model, 'trainer-a');
    const metrics = createTrainerMetrics(new Registry());
    const handle = onRetrainingTriggers({ jobs, metrics, logger: p.logger, wake: () => undefined });
    const lease = (await leases.acquire(model, 60_000))!;
    const event = makeEvent('retrainingTriggers', { source: FLYWHEEL_SOURCES.aggregator, subject: model, data: trigger(lease.token) });
    await handle(event);
    let newer: Awaited<ReturnType<RetrainLeases['acquire']>>;
    const flushWhileTraining: JobDeps['train'] = async () => {
      await redis.flushall(); // the lease, the fence counter and the bus's dedupe keys are gone
      // The bus no longer knows the trigger was processed: Kafka redelivers it.
      await handle(event);
      // The aggregator sees no lease and fires again, under a new grant (tokens keep rising).
      newer = await leases.acquire(model, 60_000);
      await handle(makeEvent('retrainingTriggers', { source: FLYWHEEL_SOURCES.aggregator, subject: model, data: trigger(newer!.token) }));
      // The same grant re-announced under another event id is the same trigger.
      await handle(makeEvent('retrainingTriggers', { source: FLYWHEEL_SOURCES.aggregator, subject: model, data: trigger(newer!.token) }));
      expect(await jobs.claimNext()).toBeUndefined(); // the database keeps one running job per model
      return { metrics: {}, scores: {} } as never;
    };
    const removed: string[] = [];
    const runner = createJobRunner({ ...fakes(removed, flushWhileTraining), jobs });
    expect(await runner.runOnce()).toBe(true);

    const { rows } = await p.pool.query('SELECT id, fencing_token, state, reason FROM training_jobs WHERE model = $1 ORDER BY fencing_token', [model]);
    expect(rows).toHaveLength(2); // the first trigger and the new grant: one job each
    expect(rows[0]).toMatchObject({ id: event.id, state: 'failed' });
    expect(rows[0].reason).toMatch(/could not be extended/);
    expect(rows[1]).toMatchObject({ fencing_token: String(newer!.token), state: 'queued' });
    expect(removed).toEqual([]); // nothing was uploaded
    expect(await leases.holder(model)).toBe(newer!.token); // the stopped job did not release the new grant
    const next = await jobs.claimNext();
    expect(next?.fencingToken).toBe(newer!.token);
    await jobs.finish(next!, 'failed', { reason: 'test done' });
    await leases.release(newer!);
  });

  it('recover() leaves alone a job whose owner is alive (its owner lease held), however old its heartbeat, and takes it over once the owner is gone', async () => {
    const model = newModel();
    const a = store(model, `trainer-a-${randomUUID().slice(0, 6)}`);
    // Trainer a is alive: it holds its owner lease on its own session (as main.ts does).
    const aLease = createPgLeadership({ pool: p.pool, key: ownerLeaseKey(p.schema, a.owner), logger: p.logger });
    expect(await aLease.check()).toBe(true);
    const lease = (await leases.acquire(model, 60_000))!;
    const id = randomUUID();
    await a.enqueue(id, model, trigger(lease.token));
    const mine = (await a.claimNext())!;
    await a.update(mine, { stage: 'uploading', version: '1.0.1' as ModelVersion });
    await ageHeartbeat(id); // its event loop was busy (a long inline training step): the heartbeat lags, the process lives

    const removed: string[] = [];
    const other = createJobRunner({ ...fakes(removed, notTrained), jobs: store(model, 'trainer-b') });
    expect(await other.recover()).toBe(0);
    expect(removed).toEqual([]);
    expect(await jobRow(id)).toMatchObject({ state: 'running', owner: a.owner, epoch: '1' });
    await a.update(mine, { stage: 'registering' }); // still its job

    // Now trainer a dies: its session, and the owner lease with it, are gone.
    await aLease.close();
    await ageHeartbeat(id);
    expect(await other.recover()).toBe(1);
    expect(removed).toEqual([`${model}@1.0.1/${id}-e1`]); // only the dead owner's upload folder
    expect(await jobRow(id)).toMatchObject({ state: 'failed', owner: 'trainer-b', epoch: '2', reason: 'trainer restarted' });
    await expect(a.update(mine, { stage: 'registering' })).rejects.toBeInstanceOf(NotJobOwner);
    expect(await leases.holder(model)).toBeUndefined(); // recovery freed the model
    const { rows } = await p.pool.query(`SELECT event->'data'->>'state' AS state FROM flywheel_outbox WHERE topic = 'trainingStatus' AND event->'data'->>'jobId' = $1`, [id]);
    expect(rows.map((r: { state: string }) => r.state)).toContain('failed');
  });

  it("a trainer's own job it no longer runs (its end could not be recorded) is recovered by its own maintenance, its owner lease notwithstanding", async () => {
    const model = newModel();
    const a = store(model, `trainer-a-${randomUUID().slice(0, 6)}`);
    const aLease = createPgLeadership({ pool: p.pool, key: ownerLeaseKey(p.schema, a.owner), logger: p.logger });
    expect(await aLease.check()).toBe(true);
    try {
      const id = randomUUID();
      await a.enqueue(id, model, trigger(11));
      await a.claimNext(); // claimed, then its end was never recorded (say, PostgreSQL failed at that moment)
      await ageHeartbeat(id);
      const removed: string[] = [];
      const b = createJobRunner({ ...fakes(removed, notTrained), jobs: store(model, 'trainer-b') });
      expect(await b.recover()).toBe(0); // another trainer: a is alive, so a's job is a's business
      const own = createJobRunner({ ...fakes(removed, notTrained), jobs: a });
      expect(await own.recover()).toBe(1);
      expect(await jobRow(id)).toMatchObject({ state: 'failed', owner: a.owner, epoch: '2' });
    } finally {
      await aLease.close();
    }
  });
});
