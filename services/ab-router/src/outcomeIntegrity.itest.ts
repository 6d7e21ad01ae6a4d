import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLYWHEEL_SOURCES, makeEvent, ModelName } from '@flywheel/contracts';
import { Conflict } from '@flywheel/runtime';
import { PgExperimentStore } from './PgExperimentStore.js';
import { ADMIN_TOKEN, feedbackEvent, predictionEvent, startAbRouter, until, v, version, type AbRouterHarness, type Pred, type Reporter } from './testing/abRouterHarness.js';

// Private schema, Redis prefix and topic prefix; all removed in afterAll.
let h: AbRouterHarness;
let store: PgExperimentStore;
beforeAll(async () => {
  h = await startAbRouter('ab-router-outcomes');
  store = new PgExperimentStore(h.p.pool);
});
afterAll(async () => {
  await h?.stop();
});

const MALLORY: Reporter = { client: 'mallory', trust: 'standard', correct: false };
const REVIEWER: Reporter = { client: 'reviewer', trust: 'trusted', correct: false };
const preds = (n: number, variant: 'champion' | 'challenger', ver: string, extra: Partial<Pred> = {}): Pred[] =>
  Array.from({ length: n }, () => ({ id: randomUUID(), variant, version: ver, correct: true, subject: `s-${randomUUID().slice(0, 8)}`, ...extra }));
const send = async (model: string, ps: Pred[], from?: Reporter): Promise<void> => {
  await h.bus.publisher.publishMany('feedback', ps.map((p) => feedbackEvent(model, p, from)), { key: (e) => e.data.predictionId ?? e.subject });
};
/** 1,000 thumbs-down from another standard client over `targets`, half through feedback-ingest, half as an outside producer. */
const forge = async (model: string, targets: Pred[]): Promise<void> => {
  const victims = Array.from({ length: 1000 }, (_, i) => targets[i % targets.length]!);
  await send(model, victims.filter((_, i) => i % 2 === 0), MALLORY);
  await send(model, victims.filter((_, i) => i % 2 === 1), { ...MALLORY, outside: true });
};
const allKept = (ps: Pred[], n: number) => until(`${n} outcome reports kept`, async () => {
  const got = await h.reports(ps.map((p) => p.id));
  return got >= n ? got : false;
}, 60_000);
const totalsOf = async (model: string) => (await h.router.list({ model, state: 'running' }))[0]?.totals;

describe('outcomes that cannot be forged (real Kafka, PostgreSQL, Redis)', () => {
  it('counts, per prediction, only the first outcome from the client that received it or from a trusted client', async () => {
    const { model, experimentId } = await h.modelWithChallenger();
    const champ = preds(100, 'champion', '1.0.0');
    const chall = preds(20, 'challenger', '1.0.1');
    const anonymous = preds(20, 'champion', '1.0.0', { client: null }); // made before clients existed
    await h.bus.publisher.publishMany('predictions', [...champ, ...chall, ...anonymous].map((p) => predictionEvent(model, p, experimentId)));
    await until('predictions recorded', async () => (await h.p.pool.query('SELECT 1 FROM ab_outcomes WHERE experiment_id = $1', [experimentId])).rowCount === 140);

    // The receiving client's outcomes count.
    await send(model, [...champ.slice(0, 50), ...chall]);
    await until('the receiving client\'s outcomes counted', async () => (await h.labelled({ experimentId })) === 70);
    const before = await totalsOf(model);
    expect(before?.champion).toEqual({ n: 50, successes: 50 });
    expect(before?.challenger).toEqual({ n: 20, successes: 20 });

    // 1,000 thumbs-down from another standard client, the receiver changing its mind, and the
    // receiver reporting on predictions that went to nobody: kept, and none of it counts.
    await forge(model, champ);
    await send(model, champ.slice(0, 50), { correct: false });
    await send(model, anonymous);
    await allKept([...champ, ...chall, ...anonymous], 70 + 1000 + 50 + 20);
    expect(await totalsOf(model)).toEqual(before);
    expect(await h.labelled({ experimentId })).toBe(70);
    const audit = await store.outcomeReports(champ[0]!.id);
    expect(audit.filter((r) => r.counted)).toEqual([expect.objectContaining({ client: 'app', trusted: false, correct: true })]);
    expect(audit.filter((r) => r.client === 'app').map((r) => r.correct)).toEqual([true, false]);
    expect(audit.filter((r) => r.client === 'mallory')).toHaveLength(10);
    expect(audit.filter((r) => r.client === 'mallory').every((r) => !r.counted && !r.trusted)).toBe(true);

    // A trusted client's outcome counts, also for a prediction without a client, but never twice.
    await send(model, [...champ.slice(50, 60), ...anonymous.slice(0, 10), ...champ.slice(0, 10)], REVIEWER);
    await until('the trusted outcomes counted', async () => (await h.labelled({ experimentId })) === 90);
    await allKept([...champ, ...anonymous], 70 - 20 + 1000 + 50 + 20 + 30);
    expect((await totalsOf(model))?.champion).toEqual({ n: 70, successes: 50 });
    expect((await totalsOf(model))?.challenger).toEqual({ n: 20, successes: 20 });
  });

  it('keeps the champion healthy under forged thumbs-down, rolls it back to `rolled_back` on trusted evidence, and lets an admin promote it again', async () => {
    const model = ModelName.parse(`abr-${h.run}-health`);
    await h.registry.registerChampion(version(model, '1.0.0'));
    await h.registry.registerChampion(version(model, '1.1.0'));
    await store.setChampion(model, '1.1.0');
    const served = preds(200, 'champion', '1.1.0').map((p, i) => ({ ...p, correct: i % 10 < 9 }));
    await h.bus.publisher.publishMany('predictions', served.map((p) => predictionEvent(model, p)));
    await send(model, served.slice(0, 100));
    await until('100 outcomes of the champion', async () => (await h.labelled({ model, version: '1.1.0' })) === 100);
    await h.router.checkHealth(); // first full window: the 90 % baseline
    expect((await store.champion(model))?.baselineAccuracy).toBeCloseTo(0.9);

    await forge(model, served);
    await allKept(served, 1100);
    const since = (await store.champion(model))!.since;
    expect(await store.recentAccuracy(model, '1.1.0', since, 100)).toEqual({ n: 100, successes: 90 });
    await h.router.checkHealth();
    expect((await h.registry.champion(model))?.version, 'forged outcomes must not roll back').toBe('1.1.0');
    expect(h.updates.some((u) => u.subject === model && u.data.action === 'rolled_back')).toBe(false);

    // A trusted reviewer finds 60 of the next answers wrong: a real drop, rolled back.
    await send(model, served.slice(100, 160), REVIEWER);
    await until('trusted outcomes counted', async () => (await h.labelled({ model, version: '1.1.0' })) === 160);
    await h.router.checkHealth();
    expect((await h.registry.champion(model))?.version).toBe('1.0.0');
    expect((await h.registry.version(model, v('1.1.0')))?.status).toBe('rolled_back');
    await until('rolled_back event', async () => h.updates.find((u) => u.subject === model && u.data.action === 'rolled_back'));

    // An admin brings it back (flywheel promote): the registry allows it and the router guards it again.
    const back = await h.registry.promote(model, v('1.1.0'), 'cli:admin', 'the drop was a labelling incident');
    expect(back).toMatchObject({ previous: '1.0.0', changed: true });
    await h.bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
      source: FLYWHEEL_SOURCES.cli, subject: model, data: { action: 'promoted', version: v('1.1.0'), previous: v('1.0.0'), reason: 'the drop was a labelling incident' },
    }));
    await until('the router guards 1.1.0 again', async () => (await store.champion(model))?.version === '1.1.0');
  });

  it('refuses a rollback whose expected champion is stale, and applies only one of two concurrent rollbacks', async () => {
    const model = ModelName.parse(`abr-${h.run}-cas`);
    for (const ver of ['1.0.0', '1.1.0', '1.2.0']) await h.registry.registerChampion(version(model, ver));
    const url = `http://127.0.0.1:${h.port}/admin/models/${model}/rollback`;
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const stale = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ reason: 'saw 1.1.0 misbehave', expectedChampion: '1.1.0' }) });
    expect(stale.status).toBe(409);
    expect(JSON.stringify(await stale.json())).toMatch(/1\.2\.0, not 1\.1\.0/);
    expect((await h.registry.champion(model))?.version).toBe('1.2.0');

    const both = await Promise.allSettled([h.router.rollback(model, 'guard', false, '1.2.0'), h.router.rollback(model, 'operator', false, '1.2.0')]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' ? refused.reason : undefined).toBeInstanceOf(Conflict);
    expect((await h.registry.champion(model))?.version).toBe('1.1.0');
    expect((await h.registry.history(model)).filter((r) => r.toStatus === 'rolled_back').map((r) => r.version)).toEqual(['1.2.0']);

    const ok = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ reason: 'still bad', expectedChampion: '1.1.0' }) });
    expect(await ok.json()).toEqual({ version: '1.0.0', from: '1.1.0' });
  });
});
