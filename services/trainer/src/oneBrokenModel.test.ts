// One model whose champion artifacts are broken must not stop the trainer for the other models.
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { JobId, ModelName, ModelVersion, RetrainingRequested } from '@flywheel/contracts';
import { CorruptArtifact } from '@flywheel/registry';
import { createLogger, DependencyDown, Invalid } from '@flywheel/runtime';
import { describe, expect, it } from 'vitest';
import { createJobRunner } from './createJobRunner.js';
import type { Job, JobStore } from './PgJobStore.js';
import { runJob, type JobDeps } from './runJob.js';
import { createTrainerMetrics } from './trainerMetrics.js';

/** A running job of `model` as the job store returns it. */
const fakeJob = (model: string, extra: Partial<Job> = {}): Job => ({
  id: randomUUID() as JobId,
  model: model as ModelName,
  fencingToken: 7,
  state: 'running',
  progress: 0,
  stage: undefined,
  reason: undefined,
  version: undefined,
  trigger: { reason: 'manual', details: {}, requestedBy: 'test', fencingToken: 7 } as unknown as RetrainingRequested,
  heartbeatAt: undefined,
  owner: 'trainer-a',
  epoch: 1,
  ...extra,
});

/**
 * Hand-written fakes of the job's ports. Every model has champion 1.0.0; the artifacts of the models
 * in `broken` are missing from the object store. No fresh data: a healthy model's job stops there.
 */
const fakeJobDeps = (broken: readonly string[]) => {
  const finished: { id: string; state: string; reason: string | undefined }[] = [];
  const announced: string[] = [];
  const released: string[] = [];
  const removed: string[] = [];
  const missing = (model: string) => {
    if (broken.includes(model)) throw new CorruptArtifact(`models/${model}/1.0.0/manifest.json is missing from the object store`);
  };
  const registry = new Registry();
  const jobs: Partial<JobStore> = {
    owner: 'trainer-b',
    update: async () => {},
    heartbeat: async () => {},
    finish: async (job, state, patch, announce = []) => {
      finished.push({ id: job.id, state, reason: patch.reason });
      announced.push(...announce.map((a) => a.topic));
    },
    // As PgJobStore: the work runs first; when it throws, the job stays running (nothing recorded).
    finishAfter: async (job, work, done) => {
      const out = await work();
      const d = done(out);
      finished.push({ id: job.id, state: d.state, reason: d.patch.reason });
      announced.push(...d.announce.map((a) => a.topic));
      return out;
    },
    takeOver: async (job) => ({ ...(job as Job), owner: 'trainer-b', epoch: job.epoch + 1 }),
    highestToken: async () => undefined,
  };
  const deps = {
    jobs: jobs as JobStore,
    registry: {
      champion: async (model: string) => ({ version: '1.0.0' as ModelVersion, labels: ['a', 'b'], artifact: { bucket: 'b', prefix: `models/${model}/1.0.0/`, manifestKey: `models/${model}/1.0.0/manifest.json`, sha256: '0'.repeat(64) } }),
      hasVersion: async () => false,
      version: async () => undefined,
      countByStatus: async () => [],
    } as unknown as JobDeps['registry'],
    artifacts: {
      readManifest: async () => ({ kind: 'adapter' }),
      readTrainingState: async (ref: { prefix: string }) => (missing(ref.prefix.split('/')[1]!), { 'base.bin': new Uint8Array(1) }),
      readDataset: async (ref: { prefix: string }) => (missing(ref.prefix.split('/')[1]!), new TextEncoder().encode('{"text":"t","label":"a"}\n')),
      removeVersion: async (model: string, version: string) => {
        missing(model);
        removed.push(`${model}@${version}`);
      },
      sweepOrphans: async () => [],
    } as unknown as JobDeps['artifacts'],
    data: { fresh: async () => [] },
    train: async () => {
      throw new Error('not reached: no fresh data');
    },
    leases: {
      extend: async () => true,
      release: async (lease: { model: string }) => (released.push(lease.model), true),
      holder: async () => undefined,
    },
    logger: createLogger({ service: 'trainer-unit', level: 'silent' }),
    metrics: createTrainerMetrics(registry),
    settings: {
      gates: { minAccuracy: 0.5, maxForgetting: 0.1, minImprovement: 0 },
      lockTtlMs: 60_000, keepAliveMs: 60_000, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 10, oldMaxRows: 10, holdoutFraction: 0.2, holdoutMaxRows: 10, trainOptions: {},
    },
  } satisfies JobDeps;
  return { deps, registry, finished, announced, released, removed };
};

describe('runJob with a champion whose artifacts are broken', () => {
  it('fails that job with a reason naming the champion and the missing file, counts it, and leaves other models alone', async () => {
    const { deps, registry, finished, released } = fakeJobDeps(['bad']);
    expect(await runJob(deps, fakeJob('bad'))).toBe('failed');
    expect(finished).toHaveLength(1);
    expect(finished[0]?.reason).toMatch(/champion bad@1\.0\.0 could not be read.*manifest\.json is missing from the object store.*re-register/);
    expect(released).toEqual(['bad']);

    // Another model's job gets past the champion (and stops later, for its own reason).
    expect(await runJob(deps, fakeJob('good'))).toBe('failed');
    expect(finished[1]?.reason).toMatch(/nothing to learn from/);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(/flywheel_trainer_model_load_failures_total\{[^}]*model="bad"[^}]*\} 1/);
    expect(metrics).not.toMatch(/flywheel_trainer_model_load_failures_total\{[^}]*model="good"/);
  });
});

describe('trainer recovery', () => {
  it('recovers the stale jobs of other models when one cannot be recovered, and still runs the rest of maintenance', async () => {
    const { deps, finished, released, removed } = fakeJobDeps(['bad']);
    const stale = [fakeJob('bad', { version: '1.0.1' as ModelVersion }), fakeJob('good', { version: '1.0.1' as ModelVersion })];
    let swept = 0;
    const jobs: JobStore = { ...deps.jobs, staleRunning: async () => stale, claimNext: async () => undefined };
    const artifacts = { ...deps.artifacts, sweepOrphans: async () => (swept++, []) };
    const runner = createJobRunner({ ...deps, jobs, artifacts, staleAfterMs: 1_000, orphanMinAgeMs: 1_000, owners: { isAlive: async () => false } });
    expect(await runner.recover()).toBe(1);
    expect(removed).toEqual(['good@1.0.1']);
    expect(finished).toEqual([{ id: stale[1]!.id, state: 'failed', reason: 'trainer restarted' }]);
    expect(released).toEqual(['good']);

    await runner.maintenance(); // the failing recovery does not skip the sweep
    expect(swept).toBe(1);
  });
});

describe('runJob while a dependency is down', () => {
  it('waits out an outage of feedback-ingest and of the object store instead of failing the trigger', async () => {
    const { deps, finished } = fakeJobDeps([]);
    let dataCalls = 0;
    let stateCalls = 0;
    const data = {
      fresh: async () => {
        dataCalls++;
        if (dataCalls <= 2) throw new DependencyDown('feedback-ingest is unreachable (ECONNREFUSED); retry once feedback-ingest is up');
        return [];
      },
    };
    const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    const artifacts = {
      ...deps.artifacts,
      readTrainingState: async () => {
        stateCalls++;
        if (stateCalls === 1) throw down;
        return { 'base.bin': new Uint8Array(1) };
      },
    } as unknown as JobDeps['artifacts'];
    expect(await runJob({ ...deps, data, artifacts }, fakeJob('m'))).toBe('failed');
    // It got past both outages and stopped only for its own reason (no fresh rows in this fake).
    expect(dataCalls).toBe(3);
    expect(stateCalls).toBe(2);
    expect(finished[0]?.reason).toMatch(/nothing to learn from/);
  });

  it('still fails at once on an error that a retry cannot fix', async () => {
    const { deps, finished } = fakeJobDeps([]);
    let dataCalls = 0;
    const data = { fresh: async () => { dataCalls++; throw new Invalid('training examples page is malformed'); } };
    expect(await runJob({ ...deps, data }, fakeJob('m'))).toBe('failed');
    expect(dataCalls).toBe(1);
    expect(finished[0]?.reason).toMatch(/malformed/);
  });
});
