import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@flywheel/bus';
import { makeEvent, ModelName, ModelVersion, RoutingTable, type ArtifactRef, type DataOf, type EventOf } from '@flywheel/contracts';
import { migrateRegistry, PgRegistry } from '@flywheel/registry';
import { createMetricsRegistry } from '@flywheel/runtime';
import { assignVariant } from '@flywheel/stats';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { PgRegistryPort } from './PgRegistryPort.js';
import { routingKey } from './RoutingPublisher.js';
import { startAbRouter, type RunningAbRouter } from './startAbRouter.js';
import { PgExperimentStore } from './PgExperimentStore.js';
import type { ServingHealth } from './servingHealth.js';

const run = randomUUID().slice(0, 8);
const metrics = createMetricsRegistry('ab-router-itest');
// Private schema, Redis prefix, topic prefix (and bucket, unused here); all removed in afterAll.
let p: IsolatedPlatform;
let bus: Bus;
let registry: PgRegistry;
const updates: EventOf<'modelUpdates'>[] = [];
let ab: RunningAbRouter;
let servingHealth = new Map<string, ServingHealth>();

const v = (s: string): ModelVersion => ModelVersion.parse(s);
const ref = (model: string, version: string): ArtifactRef => ({ bucket: 'b', prefix: `models/${model}/${version}/`, manifestKey: `models/${model}/${version}/manifest.json`, sha256: 'a'.repeat(64) });
const version = (model: ModelName, ver: string) => ({ model, version: v(ver), baseVersion: 'base1', labels: ['a', 'b'], metrics: { accuracy: 0.9 }, artifact: ref(model, ver), actor: 'itest', reason: 'itest' });

const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined && got !== false) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** A model with champion 1.0.0 and challenger 1.0.1 registered, and the registration announced. */
const modelWithChallenger = async (): Promise<{ model: ModelName; experimentId: string; salt: string }> => {
  const model = ModelName.parse(`abr-${run}-${randomUUID().slice(0, 6)}`);
  await registry.registerChampion(version(model, '1.0.0'));
  await registry.registerChallenger(version(model, '1.0.1'));
  await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
    source: '/itest', subject: model,
    data: { action: 'challenger_registered', version: v('1.0.1'), artifact: ref(model, '1.0.1'), metrics: { accuracy: 0.9 } },
  }));
  const e = await until('experiment started', async () => (await ab.router.list({ model, state: 'running' }))[0]);
  return { model, experimentId: e.id, salt: e.salt };
};

type Pred = { id: string; variant: 'champion' | 'challenger'; version: string; correct: boolean; subject: string };
const predictionEvent = (model: string, p: Pred, experimentId?: string) => makeEvent('predictions', {
  source: '/itest', subject: model,
  data: { predictionId: p.id as never, modelVersion: v(p.version), variant: p.variant, subjectId: p.subject, ...(experimentId ? { experimentId } : {}), text: 'some text', label: 'a', confidence: 0.8, latencyMs: 3 },
});
const feedbackEvent = (model: string, p: Pred) => makeEvent('feedback', {
  source: '/itest', subject: model,
  data: { feedbackId: randomUUID() as never, predictionId: p.id as never, text: 'some text', kind: p.correct ? 'thumbs_up' : 'thumbs_down' } as DataOf<'feedback'>,
});
const labelled = async (experimentOrModel: { experimentId?: string; model?: string; version?: string }): Promise<number> => {
  const r = experimentOrModel.experimentId
    ? await p.pool.query<{ n: string }>('SELECT count(correct) AS n FROM ab_outcomes WHERE experiment_id = $1', [experimentOrModel.experimentId])
    : await p.pool.query<{ n: string }>('SELECT count(correct) AS n FROM ab_outcomes WHERE model = $1 AND model_version = $2', [experimentOrModel.model, experimentOrModel.version]);
  return Number(r.rows[0]?.n ?? 0);
};
const routingOf = async (model: string): Promise<RoutingTable> => RoutingTable.parse(JSON.parse((await p.redis.get(routingKey(p.redisPrefix, model))) ?? 'null'));

beforeAll(async () => {
  p = await isolatedPlatform('ab-router');
  bus = p.newBus();
  registry = new PgRegistry(p.pool);
  await migrateRegistry(p.pool);
  ab = await startAbRouter({
    pool: p.pool, redis: p.redis, bus, logger: p.logger, metrics, registry: new PgRegistryPort(registry), adminToken: 'x'.repeat(16), port: 0, redisPrefix: p.redisPrefix,
    consumerGroup: `abr-${run}`, evalIntervalMs: 0,
    settings: { defaults: { minSamplePerArm: 200 }, perModel: {} },
    health: {
      windowSize: 100, minSamples: 50, maxAccuracyDrop: 0.1,
      // Our own interface, faked: what serving's /metrics said over the last interval, per model.
      serving: { source: { sample: async () => servingHealth }, limits: { minRequests: 100, maxErrorRate: 0.05, maxP99Ms: 1000 } },
    },
  });
  await bus.consume(`abr-${run}-watch`, { modelUpdates: async (e) => { updates.push(e); } });
});
afterAll(async () => {
  try {
    await ab?.close();
    await bus?.close();
  } finally {
    await p?.drop();
  }
});

describe('ab-router on real Kafka, PostgreSQL and Redis', () => {
  it('starts a sticky 10% experiment for a registered challenger and halts it when the observed split is broken (SRM)', async () => {
    const { model, experimentId, salt } = await modelWithChallenger();
    const table = await routingOf(model);
    expect(table).toMatchObject({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, experimentId, salt });
    expect(assignVariant('user-1', { challengerBp: table.challengerShareBps }, table.salt)).toBe(assignVariant('user-1', { challengerBp: 1000 }, salt));

    // A broken assignment: half of the subjects land on the challenger instead of 10 %.
    const preds: Pred[] = Array.from({ length: 400 }, (_, i) => ({ id: randomUUID(), variant: i % 2 ? 'challenger' : 'champion', version: i % 2 ? '1.0.1' : '1.0.0', correct: true, subject: `u${i}` }));
    await bus.publisher.publishMany('predictions', preds.map((p) => predictionEvent(model, p, experimentId)));
    await until('predictions recorded', async () => (await p.pool.query('SELECT 1 FROM ab_outcomes WHERE experiment_id = $1', [experimentId])).rowCount === 400);

    const outcome = await ab.router.evaluate(experimentId);
    expect(outcome.action).toBe('halted');
    expect(outcome.experiment.srm.pValue).toBeLessThan(0.001);
    expect((await ab.router.list({ model }))[0]?.state).toBe('halted');
    const after = await routingOf(model);
    expect(after).toMatchObject({ champion: '1.0.0', challengerShareBps: 0 });
    expect(after.challenger).toBeUndefined();
    expect(after.revision).toBeGreaterThan(table.revision);
    expect((await registry.champion(model))?.version).toBe('1.0.0');
  });

  it('joins out-of-order feedback with predictions per arm, promotes a better challenger, then rolls it back automatically when its accuracy drops', async () => {
    const { model, experimentId } = await modelWithChallenger();
    // Champion 60 % right, challenger 90 % right, 300 outcomes each (the split is configured 10 %,
    // so subjects are spread like the routing table says: 3,000 subjects, 10 % to the challenger).
    const preds: Pred[] = [];
    for (let i = 0; preds.filter((p) => p.variant === 'challenger').length < 300; i++) {
      const variant = assignVariant(`s${i}`, { challengerBp: 1000 }, experimentId);
      const k = preds.filter((p) => p.variant === variant).length;
      preds.push({ id: randomUUID(), variant, version: variant === 'challenger' ? '1.0.1' : '1.0.0', correct: variant === 'challenger' ? k % 10 < 9 : k % 10 < 6, subject: `s${i}` });
    }
    const labelledPreds = [...preds.filter((p) => p.variant === 'challenger'), ...preds.filter((p) => p.variant === 'champion').slice(0, 300)];
    // Half of the feedback arrives before its prediction.
    const early = labelledPreds.filter((_, i) => i % 2 === 0);
    const late = labelledPreds.filter((_, i) => i % 2 === 1);
    await bus.publisher.publishMany('feedback', early.map((p) => feedbackEvent(model, p)), { key: (e) => e.data.predictionId ?? e.subject });
    await until('early feedback pending', async () => (await p.pool.query('SELECT 1 FROM ab_pending_outcomes WHERE prediction_id = ANY($1::uuid[])', [early.map((p) => p.id)])).rowCount === early.length);
    await bus.publisher.publishMany('predictions', preds.map((p) => predictionEvent(model, p, experimentId)));
    await bus.publisher.publishMany('feedback', late.map((p) => feedbackEvent(model, p)), { key: (e) => e.data.predictionId ?? e.subject });
    await until('all outcomes joined', async () => (await labelled({ experimentId })) === 600, 45_000);

    const view = (await ab.router.list({ model, state: 'running' }))[0];
    expect(view?.totals.champion).toEqual({ n: 300, successes: 180 });
    expect(view?.totals.challenger).toEqual({ n: 300, successes: 270 });
    const outcome = await ab.router.evaluate(experimentId);
    expect(outcome.action).toBe('promoted');
    expect((await registry.champion(model))?.version).toBe('1.0.1');
    expect((await registry.version(model, v('1.0.0')))?.status).toBe('archived');
    await until('promoted event', async () => updates.some((u) => u.subject === model && u.data.action === 'promoted'));
    expect(await routingOf(model)).toMatchObject({ champion: '1.0.1', challengerShareBps: 0 });

    // The new champion goes bad: 60 % right against its 90 % baseline → automatic rollback.
    const bad: Pred[] = Array.from({ length: 100 }, (_, i) => ({ id: randomUUID(), variant: 'champion', version: '1.0.1', correct: i % 10 < 6, subject: `b${i}` }));
    await bus.publisher.publishMany('predictions', bad.map((p) => predictionEvent(model, p)));
    await bus.publisher.publishMany('feedback', bad.map((p) => feedbackEvent(model, p)), { key: (e) => e.data.predictionId ?? e.subject });
    await until('bad outcomes joined', async () => (await labelled({ model, version: '1.0.1' })) >= 400, 45_000);
    await ab.router.checkHealth();

    const rolledBack = await until('rolled_back event', async () => updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));
    expect(rolledBack.data).toMatchObject({ action: 'rolled_back', version: '1.0.0', from: '1.0.1', automatic: true });
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    expect((await registry.version(model, v('1.0.1')))?.status).toBe('deprecated');
    const history = await registry.history(model);
    expect(history.at(-1)).toMatchObject({ version: '1.0.0', toStatus: 'champion' });
    const routing = await until('routing back to 1.0.0', async () => {
      const r = updates.filter((u) => u.subject === model && u.data.action === 'routing_changed').at(-1);
      return r?.data.action === 'routing_changed' && r.data.routing.champion === '1.0.0' ? r.data.routing : undefined;
    });
    expect(routing.challengerShareBps).toBe(0);
    expect(await metrics.metrics()).toMatch(new RegExp(`flywheel_abrouter_rollbacks_total\\{model="${model}",automatic="true",service="ab-router-itest"\\} 1`));
  });

  it('rolls the champion back automatically when serving reports its p99 latency over the limit', async () => {
    const model = ModelName.parse(`abr-${run}-lat`);
    await registry.registerChampion(version(model, '1.0.0'));
    await registry.registerChampion(version(model, '1.1.0'));
    await new PgExperimentStore(p.pool).setChampion(model, '1.1.0');
    servingHealth = new Map([[model, { requests: 50, errorRate: 0, p99Ms: 4000 }]]);
    await ab.router.checkHealth();
    expect((await registry.champion(model))?.version, 'too few requests to judge').toBe('1.1.0');
    servingHealth = new Map([[model, { requests: 800, errorRate: 0.001, p99Ms: 2500 }]]);
    await ab.router.checkHealth();
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    const event = await until('rolled_back on latency', async () => updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));
    expect(event.data).toMatchObject({ action: 'rolled_back', version: '1.0.0', from: '1.1.0', automatic: true, reason: expect.stringMatching(/p99 latency 2500 ms/) });
    servingHealth = new Map();
  });

  it('answers admin routes only with the bearer token and rolls back by hand with a reason', async () => {
    const url = `http://127.0.0.1:${ab.port}`;
    expect((await fetch(`${url}/admin/experiments`)).status).toBe(401);
    expect((await fetch(`${url}/admin/experiments`, { headers: { authorization: 'Bearer wrong-token-wrong' } })).status).toBe(403);
    const model = ModelName.parse(`abr-${run}-man`);
    await registry.registerChampion(version(model, '1.0.0'));
    await registry.registerChampion(version(model, '1.1.0'));
    const auth = { authorization: `Bearer ${'x'.repeat(16)}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/admin/models/${model}/rollback`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(400);
    const res = await fetch(`${url}/admin/models/${model}/rollback`, { method: 'POST', headers: auth, body: JSON.stringify({ reason: 'support tickets doubled' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: '1.0.0', from: '1.1.0' });
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    await until('manual rolled_back event', async () => updates.some((u) => u.subject === model && u.data.action === 'rolled_back' && !u.data.automatic));
  });
});
