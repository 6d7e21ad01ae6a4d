// Issue 13, part 1: each ab-router decision that a crash can interrupt is finished by
// resumeDecisions / reconcileChallengers, without an operator. The crash is a failpoint armed
// in-process (`throw` at exactly that line), the state it leaves is the state a SIGKILL leaves.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FLYWHEEL_SOURCES, ModelName } from '@flywheel/contracts';
import { armFailpoints } from '@flywheel/runtime';
import { PgExperimentStore } from './PgExperimentStore.js';
import { startAbRouter, until, version, type AbRouterHarness } from './testing/abRouterHarness.js';

let h: AbRouterHarness;
beforeAll(async () => {
  h = await startAbRouter('abr-crash');
});
afterEach(() => {
  armFailpoints(undefined);
});
afterAll(async () => {
  await h?.stop();
});

const newModel = (tag: string): ModelName => ModelName.parse(`abr-${h.run}-${tag}`);
const intentOf = async (model: string): Promise<unknown> =>
  (await h.p.pool.query('SELECT rollback_intent FROM ab_champions WHERE model = $1', [model])).rows[0]?.rollback_intent ?? null;

describe('ab-router decisions finish after a crash', () => {
  it('rollback: crashed after the registry moved, before our transaction: resumeDecisions sets the guard, announces and routes, once', async () => {
    const model = newModel('rb1');
    await h.registry.registerChampion(version(model, '1.0.0'));
    await h.registry.registerChampion(version(model, '1.1.0'));
    armFailpoints('ab-router.after-rollback-registry=1*throw');
    await expect(h.router.rollback(model, 'itest: crash after the registry', false, '1.1.0')).rejects.toThrow(/failpoint/);
    expect((await h.registry.champion(model))?.version).toBe('1.0.0');
    expect(await intentOf(model)).toMatchObject({ from: '1.1.0', automatic: false });
    expect(h.updates.some((u) => u.subject === model && u.data.action === 'rolled_back')).toBe(false);

    expect(await h.router.resumeDecisions({ graceMs: 0 })).toBe(1);
    expect(await intentOf(model)).toBeNull();
    expect(await h.routingOf(model)).toMatchObject({ champion: '1.0.0', challengerShareBps: 0 });
    const event = await until('rolled_back event from the outbox', async () => h.updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));
    expect(event.source).toBe(FLYWHEEL_SOURCES.abRouter);
    expect(event.data).toMatchObject({ version: '1.0.0', from: '1.1.0', reason: 'itest: crash after the registry' });
    expect((await new PgExperimentStore(h.p.pool).champion(model))?.version).toBe('1.0.0');
    expect(await h.router.resumeDecisions({ graceMs: 0 }), 'nothing left to finish').toBe(0);
    expect((await h.registry.history(model)).filter((r) => r.toStatus === 'rolled_back')).toHaveLength(1);
  });

  it('rollback: crashed after the intent, before the registry: resumeDecisions rolls back once; a rollback made moot meanwhile is dropped', async () => {
    const model = newModel('rb2');
    await h.registry.registerChampion(version(model, '1.0.0'));
    await h.registry.registerChampion(version(model, '1.1.0'));
    const store = new PgExperimentStore(h.p.pool);
    await store.recordRollbackIntent(model, { id: 'crashed-1', from: '1.1.0', reason: 'itest: crash before the registry', automatic: true }); // what the crash leaves
    expect(await h.router.resumeDecisions({ graceMs: 0 })).toBe(1);
    expect((await h.registry.champion(model))?.version).toBe('1.0.0');
    expect(await intentOf(model)).toBeNull();
    await until('rolled_back event', async () => h.updates.find((u) => u.subject === model && u.data.action === 'rolled_back' && u.data.automatic));

    // A model whose champion has nothing to roll back to: the intent is moot and dropped.
    const lone = newModel('rb3');
    await h.registry.registerChampion(version(lone, '1.0.0'));
    await store.recordRollbackIntent(lone, { id: 'crashed-2', from: '1.0.0', reason: 'itest', automatic: true });
    expect(await h.router.resumeDecisions({ graceMs: 0 })).toBe(0);
    expect(await intentOf(lone)).toBeNull();
    expect((await h.registry.champion(lone))?.version).toBe('1.0.0');
  });

  it('two rollbacks of the same champion at once: one applies, the other is a Conflict, and nothing is left pending', async () => {
    const model = newModel('rb4');
    await h.registry.registerChampion(version(model, '1.0.0'));
    await h.registry.registerChampion(version(model, '1.1.0'));
    await h.registry.registerChampion(version(model, '1.2.0'));
    const results = await Promise.allSettled([h.router.rollback(model, 'first', false, '1.2.0'), h.router.rollback(model, 'second', false, '1.2.0')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/changed meanwhile|not 1\.2\.0/);
    expect((await h.registry.champion(model))?.version).toBe('1.1.0');
    expect(await intentOf(model)).toBeNull();
    expect(await h.router.resumeDecisions({ graceMs: 0 })).toBe(0);
  });

  it('first version: crashed after the registry promoted it: the redelivered registration announces and routes it', async () => {
    const model = newModel('first');
    await h.registry.registerChallenger(version(model, '1.0.0'));
    armFailpoints('ab-router.after-first-promotion=1*throw');
    await expect(h.router.startExperiment(model, '1.0.0')).rejects.toThrow(/failpoint/);
    expect((await h.registry.champion(model))?.version).toBe('1.0.0');
    expect(h.updates.some((u) => u.subject === model && u.data.action === 'promoted')).toBe(false);

    await h.router.startExperiment(model, '1.0.0'); // Kafka redelivers the uncommitted registration
    expect(await h.routingOf(model)).toMatchObject({ champion: '1.0.0', challengerShareBps: 0 });
    await until('promoted event', async () => h.updates.find((u) => u.subject === model && u.data.action === 'promoted'));
  });

  it('a registered challenger whose event no leader handled gets its experiment from the leader reconcile, once', async () => {
    const model = newModel('rec');
    await h.registry.registerChampion(version(model, '1.0.0'));
    await h.registry.registerChallenger(version(model, '1.0.1')); // announced to a follower, which left it
    expect(await h.router.list({ model })).toEqual([]);
    expect(await h.router.reconcileChallengers()).toBeGreaterThanOrEqual(1);
    const [e] = await h.router.list({ model, state: 'running' });
    expect(e).toMatchObject({ championVersion: '1.0.0', challengerVersion: '1.0.1' });
    expect(await h.routingOf(model)).toMatchObject({ champion: '1.0.0', challenger: '1.0.1', experimentId: e!.id });
    await h.router.reconcileChallengers();
    expect(await h.router.list({ model })).toHaveLength(1);
  });
});
