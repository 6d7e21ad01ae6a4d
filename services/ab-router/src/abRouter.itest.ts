import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@flywheel/auth';
import type { Bus } from '@flywheel/bus';
import { FLYWHEEL_SOURCES, makeEvent, ModelName, type EventOf } from '@flywheel/contracts';
import { routingKey } from '@flywheel/redis';
import type { PgRegistry } from '@flywheel/registry';
import type { Service } from '@flywheel/service';
import { assignVariant } from '@flywheel/stats';
import type { IsolatedPlatform } from '@flywheel/testing';
import type { AbRouter } from './createAbRouter.js';
import { championOnly, createDecisionTx } from './decisionTx.js';
import { PgExperimentStore } from './PgExperimentStore.js';
import { RoutingPublisher } from './RoutingPublisher.js';
import type { ServingHealth } from './servingHealth.js';
import { ADMIN_TOKEN, feedbackEvent, predictionEvent, ref, startAbRouter, until, v, version, type AbRouterHarness, type Pred } from './testing/abRouterHarness.js';

// Private schema, Redis prefix, topic prefix (and bucket, unused here); all removed in afterAll.
let h: AbRouterHarness;
let run: string;
let p: IsolatedPlatform;
let bus: Bus;
let registry: PgRegistry;
let updates: EventOf<'modelUpdates'>[];
let svc: Service;
let ab: { router: AbRouter; port: number };
const setServingHealth = (m: Map<string, ServingHealth>): void => { h.health.serving = m; };
const modelWithChallenger = () => h.modelWithChallenger();
const labelled = (of: Parameters<AbRouterHarness['labelled']>[0]) => h.labelled(of);
const routingOf = (model: string) => h.routingOf(model);

beforeAll(async () => {
  h = await startAbRouter('ab-router');
  ({ run, p, bus, registry, updates, svc } = h);
  ab = { router: h.router, port: h.port };
});
afterAll(async () => {
  await h?.stop();
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
    await until('early feedback kept', async () => (await h.reports(early.map((p) => p.id))) === early.length);
    await bus.publisher.publishMany('predictions', preds.map((p) => predictionEvent(model, p, experimentId)));
    await bus.publisher.publishMany('feedback', late.map((p) => feedbackEvent(model, p)), { key: (e) => e.data.predictionId ?? e.subject });
    await until('all outcomes joined', async () => (await labelled({ experimentId })) === 600, 90_000);

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
    await until('bad outcomes joined', async () => (await labelled({ model, version: '1.0.1' })) >= 400, 90_000);
    await ab.router.checkHealth();

    const rolledBack = await until('rolled_back event', async () => updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));
    expect(rolledBack.data).toMatchObject({ action: 'rolled_back', version: '1.0.0', from: '1.0.1', automatic: true });
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    expect((await registry.version(model, v('1.0.1')))?.status).toBe('rolled_back');
    const history = await registry.history(model);
    expect(history.at(-1)).toMatchObject({ version: '1.0.0', toStatus: 'champion' });
    const routing = await until('routing back to 1.0.0', async () => {
      const r = updates.filter((u) => u.subject === model && u.data.action === 'routing_changed').at(-1);
      return r?.data.action === 'routing_changed' && r.data.routing.champion === '1.0.0' ? r.data.routing : undefined;
    });
    expect(routing.challengerShareBps).toBe(0);
    expect(await svc.metrics.metrics()).toMatch(new RegExp(`flywheel_abrouter_rollbacks_total\\{model="${model}",automatic="true",service="ab-router-itest"\\} 1`));
  });

  it('rolls the champion back automatically when serving reports its p99 latency over the limit', async () => {
    const model = ModelName.parse(`abr-${run}-lat`);
    await registry.registerChampion(version(model, '1.0.0'));
    await registry.registerChampion(version(model, '1.1.0'));
    await new PgExperimentStore(p.pool).setChampion(model, '1.1.0');
    setServingHealth(new Map([[model, { requests: 50, errorRate: 0, p99Ms: 4000 }]]));
    await ab.router.checkHealth();
    expect((await registry.champion(model))?.version, 'too few requests to judge').toBe('1.1.0');
    setServingHealth(new Map([[model, { requests: 800, errorRate: 0.001, p99Ms: 2500 }]]));
    await ab.router.checkHealth();
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    const event = await until('rolled_back on latency', async () => updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));
    expect(event.data).toMatchObject({ action: 'rolled_back', version: '1.0.0', from: '1.1.0', automatic: true, reason: expect.stringMatching(/p99 latency 2500 ms/) });
    setServingHealth(new Map());
  });

  it('judges a champion pushed without live evidence against the outgoing one even while an experiment runs (probation)', async () => {
    const store = new PgExperimentStore(p.pool);
    /** Champion 1.0.0 with 60 labelled predictions 90 % right, then 1.1.0 pushed as champion (a bootstrap), then challenger 1.1.1 under test. */
    const pushedWhileTested = async (tag: string, probation: boolean): Promise<{ model: ModelName; experimentId: string }> => {
      const model = ModelName.parse(`abr-${run}-${tag}`);
      await registry.registerChampion(version(model, '1.0.0'));
      await store.setChampion(model, '1.0.0');
      const good: Pred[] = Array.from({ length: 60 }, (_, i) => ({ id: randomUUID(), variant: 'champion', version: '1.0.0', correct: i % 10 < 9, subject: `g${i}` }));
      await bus.publisher.publishMany('predictions', good.map((x) => predictionEvent(model, x)));
      await bus.publisher.publishMany('feedback', good.map((x) => feedbackEvent(model, x)), { key: (e) => e.data.predictionId ?? e.subject });
      await until('the first champion labelled', async () => (await labelled({ model, version: '1.0.0' })) >= 60, 90_000);
      await registry.registerChampion(version(model, '1.1.0'));
      if (probation) {
        // The real path: the registry's promotion event makes the ab-router adopt it with 1.0.0's accuracy as the bar.
        await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: FLYWHEEL_SOURCES.trainer, subject: model, data: { action: 'promoted', version: v('1.1.0'), reason: 'itest: bootstrap' } }));
        await until('adopted on probation', async () => (await store.champion(model))?.onProbation === true);
      } else {
        await store.setChampion(model, '1.1.0', { accuracy: 0.9, n: 60 }); // as an experiment's evidence would
      }
      expect((await store.champion(model))?.baselineAccuracy).toBeCloseTo(0.9, 5);
      await registry.registerChallenger(version(model, '1.1.1'));
      await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
        source: FLYWHEEL_SOURCES.trainer, subject: model,
        data: { action: 'challenger_registered', version: v('1.1.1'), artifact: ref(model, '1.1.1'), metrics: { accuracy: 0.9 } },
      }));
      const e = await until('experiment started', async () => (await ab.router.list({ model, state: 'running' }))[0]);
      // The pushed champion is 50 % right on its champion arm.
      const bad: Pred[] = Array.from({ length: 60 }, (_, i) => ({ id: randomUUID(), variant: 'champion', version: '1.1.0', correct: i % 2 === 0, subject: `b${i}` }));
      await bus.publisher.publishMany('predictions', bad.map((x) => predictionEvent(model, x, e.id)));
      await bus.publisher.publishMany('feedback', bad.map((x) => feedbackEvent(model, x)), { key: (ev) => ev.data.predictionId ?? ev.subject });
      await until('the pushed champion labelled', async () => (await labelled({ model, version: '1.1.0' })) >= 60, 90_000);
      await ab.router.checkHealth();
      return { model, experimentId: e.id };
    };

    const pushed = await pushedWhileTested('probation', true);
    expect((await registry.champion(pushed.model))?.version, 'rolled back despite the running experiment').toBe('1.0.0');
    expect((await ab.router.list({ model: pushed.model })).find((x) => x.id === pushed.experimentId)?.state).toBe('stopped');
    const event = await until('rolled_back of the pushed champion', async () => updates.find((u) => u.subject === pushed.model && u.data.action === 'rolled_back'));
    expect(event.data).toMatchObject({ version: '1.0.0', from: '1.1.0', automatic: true });

    // A champion with its own evidence (promoted by an experiment) is left to the running experiment.
    const proven = await pushedWhileTested('proven', false);
    expect((await registry.champion(proven.model))?.version).toBe('1.1.0');
    expect((await ab.router.list({ model: proven.model, state: 'running' }))[0]?.id).toBe(proven.experimentId);
  });

  it('rejects without a test a challenger trained from a version that was rolled back meanwhile', async () => {
    const model = ModelName.parse(`abr-${run}-lineage`);
    await registry.registerChampion(version(model, '1.0.0'));
    await registry.registerChampion(version(model, '1.1.0'));
    await registry.rollback(model, 'itest', 'itest: a bad push');
    // A retraining of the bad push that finishes after its rollback, and one of the restored champion.
    for (const [ver, parent] of [['1.1.1', '1.1.0'], ['1.0.1', '1.0.0']] as const) {
      await registry.registerChallenger({ ...version(model, ver), parentVersion: v(parent) });
      await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
        source: FLYWHEEL_SOURCES.trainer, subject: model,
        data: { action: 'challenger_registered', version: v(ver), artifact: ref(model, ver), metrics: { accuracy: 0.9 } },
      }));
      if (ver === '1.1.1') {
        const rejected = await until('rejected announcement', async () => updates.find((u) => u.subject === model && u.data.action === 'rejected'));
        expect(rejected.data).toMatchObject({ version: '1.1.1', reason: expect.stringMatching(/trained from 1\.1\.0, which was rolled back/) });
        expect((await registry.version(model, v('1.1.1')))?.status).not.toBe('challenger');
      }
    }
    const e = await until('experiment of the sound challenger', async () => (await ab.router.list({ model, state: 'running' }))[0]);
    expect(e).toMatchObject({ championVersion: '1.0.0', challengerVersion: '1.0.1' });
    expect((await ab.router.list({ model })).some((x) => x.challengerVersion === '1.1.1')).toBe(false);
  });

  it('answers admin routes only with an admin-scoped key (ADMIN_TOKEN or a keyring client) and rolls back by hand with a reason', async () => {
    const url = `http://127.0.0.1:${ab.port}`;
    expect((await fetch(`${url}/admin/experiments`)).status).toBe(401);
    // An unknown key is 401 (not a valid credential); a valid key without the admin scope is 403.
    expect((await fetch(`${url}/admin/experiments`, { headers: { authorization: 'Bearer wrong-token-wrong' } })).status).toBe(401);
    const { key: predictKey } = await createClient(p.pool, { name: `predict-${run}`, scopes: ['predict', 'feedback'], trust: 'trusted' });
    const { key: adminKey } = await createClient(p.pool, { name: `ops-${run}`, scopes: ['admin'] });
    // Both keys known: a refresh may land between the two inserts and know only the first.
    const forbidden = await until('the keyring to pick up the new keys', async () => {
      const r = await fetch(`${url}/admin/experiments`, { headers: { authorization: `Bearer ${predictKey}` } });
      const admin = await fetch(`${url}/admin/experiments`, { headers: { 'x-api-key': adminKey } });
      await admin.arrayBuffer();
      return r.status === 401 || admin.status === 401 ? undefined : r;
    });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('www-authenticate')).toMatch(/insufficient_scope/);
    for (const [method, path] of [['POST', '/admin/experiments'], ['POST', `/admin/experiments/${randomUUID()}/promote`], ['POST', '/admin/models/m/rollback']] as const) {
      expect((await fetch(`${url}${path}`, { method, headers: { 'x-api-key': predictKey, 'content-type': 'application/json' }, body: '{}' })).status, `${method} ${path}`).toBe(403);
      expect((await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: '{}' })).status, `${method} ${path}`).toBe(401);
    }
    expect((await fetch(`${url}/admin/experiments`, { headers: { 'x-api-key': adminKey } })).status).toBe(200);
    const model = ModelName.parse(`abr-${run}-man`);
    await registry.registerChampion(version(model, '1.0.0'));
    await registry.registerChampion(version(model, '1.1.0'));
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    expect((await fetch(`${url}/admin/models/${model}/rollback`, { method: 'POST', headers: auth, body: '{}' })).status).toBe(400);
    const res = await fetch(`${url}/admin/models/${model}/rollback`, { method: 'POST', headers: auth, body: JSON.stringify({ reason: 'support tickets doubled' }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: '1.0.0', from: '1.1.0' });
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    await until('manual rolled_back event', async () => updates.some((u) => u.subject === model && u.data.action === 'rolled_back' && !u.data.automatic));
  });

  it('finishes a promotion a crash left between the decision row and applying it, once (resumeDecisions)', async () => {
    const { model, experimentId } = await modelWithChallenger();
    // What the failpoint ab-router.after-decision leaves behind: the row says promoted, nothing is applied.
    expect(await new PgExperimentStore(p.pool).finish(experimentId, 'promoted', { reason: 'challenger better' })).toBe(true);
    expect((await registry.champion(model))?.version).toBe('1.0.0');
    expect(await ab.router.resumeDecisions({ graceMs: 0 })).toBe(1);
    expect((await registry.champion(model))?.version).toBe('1.0.1');
    const promoted = await until('promoted event from the outbox', async () => updates.find((u) => u.subject === model && u.data.action === 'promoted'));
    expect(promoted.source).toBe(FLYWHEEL_SOURCES.abRouter);
    expect(promoted.data).toMatchObject({ version: '1.0.1', previous: '1.0.0', reason: expect.stringMatching(/resumed after a restart: challenger better/) });
    expect(await routingOf(model)).toMatchObject({ champion: '1.0.1', challengerShareBps: 0 });
    const applied = await p.pool.query<{ applied_at: Date | null }>('SELECT applied_at FROM ab_experiments WHERE id = $1', [experimentId]);
    expect(applied.rows[0]?.applied_at).not.toBeNull();
    expect(await ab.router.resumeDecisions({ graceMs: 0 }), 'nothing left to finish').toBe(0);
    expect((await registry.history(model)).filter((h) => h.version === '1.0.1' && h.toStatus === 'champion')).toHaveLength(1);
  });

  it("writes a decision's rows and the events announcing them in one transaction: a failure leaves neither", async () => {
    const model = `abr-${run}-tx`;
    const decide = createDecisionTx({ pool: p.pool, routing: new RoutingPublisher({ redis: p.redis, redisPrefix: p.redisPrefix }), source: FLYWHEEL_SOURCES.abRouter });
    const rows = async (table: 'flywheel_outbox' | 'ab_routing', column: 'key' | 'model'): Promise<number> =>
      (await p.pool.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [model])).rowCount ?? 0;
    await expect(decide(async (tx) => {
      await tx.announce(model, { action: 'rolled_back', version: v('1.0.0'), from: v('1.1.0'), reason: 'itest', automatic: false });
      await championOnly(tx, model, '1.0.0');
      throw new Error('failed half-way');
    })).rejects.toThrow('failed half-way');
    expect(await rows('flywheel_outbox', 'key')).toBe(0);
    expect(await rows('ab_routing', 'model')).toBe(0);
    expect(await p.redis.get(routingKey(p.redisPrefix, model))).toBeNull();

    const table = await decide((tx) => championOnly(tx, model, '1.0.0'));
    expect(await rows('flywheel_outbox', 'key')).toBe(1);
    expect(await routingOf(model)).toEqual(table);
    const announced = await until('routing_changed from the outbox', async () => updates.find((u) => u.subject === model && u.data.action === 'routing_changed'));
    expect(announced.data).toEqual({ action: 'routing_changed', routing: table });
  });
});
