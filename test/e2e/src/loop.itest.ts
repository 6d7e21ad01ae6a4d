import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStoreProbe, type StoreProbe } from './support/storeProbe.js';
import { createTraffic, type Traffic } from './support/createTraffic.js';
import { startE2eWorld, type E2eWorld } from './support/startE2eStack.js';
import { toJsonl } from './support/syntheticCorpus.js';
import { waitFor } from './support/waitFor.js';

// The whole loop on the six real services and the real stores, asserted step by step. Each `it`
// builds on the previous one (vitest runs them in order), so a failure names the broken step.
describe('the loop, end to end', () => {
  let w: E2eWorld;
  let db: StoreProbe;
  let traffic: Traffic;
  let challenger = '';
  let bad = '';
  let good = '';

  const stopExperiment = async (id: string): Promise<void> => {
    const res = await fetch(`${w.stack.url('ab-router')}/admin/experiments/${id}/stop`, {
      method: 'POST', headers: { authorization: `Bearer ${w.stack.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'e2e: settle before the bad version' }),
    });
    expect([200, 409]).toContain(res.status); // 409: it was decided meanwhile
  };

  /** Every accepted feedback id is in PostgreSQL and in the aggregator's ledger (it came over Kafka). */
  const expectNothingLost = async (): Promise<void> => {
    const accepted = [...traffic.acceptedIds];
    const ledger = await waitFor('the aggregator ledger to hold every accepted feedback id', async () => {
      const l = await db.ledgerIds();
      return accepted.every((id) => l.has(id)) ? l : undefined;
    }, { timeoutMs: 30_000, context: () => w.stack.logTail('aggregator', 10) });
    const rows = await db.feedbackIds();
    expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
    expect(rows.size).toBe(accepted.length);
    expect(ledger.size).toBe(accepted.length);
  };

  beforeAll(async () => {
    w = await startE2eWorld('loop');
    db = createStoreProbe(w.pool, w.model);
    traffic = createTraffic({ api: w.stack.api, model: w.model, oldPool: w.corpus.oldTraffic, newPool: w.corpus.newTraffic, backlog: () => db.ledgerBacklog() });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('bootstraps a champion that does not know the new category', async () => {
    expect(await db.champion()).toBe(w.baseVersion);
    const versions = await db.versions();
    expect(versions).toHaveLength(1);
    expect(versions[0]?.labels).not.toContain(w.corpus.newLabel);
  });

  it('steady traffic: users confirm predictions and nothing triggers retraining', async () => {
    let confirmations = 0;
    for (let i = 0; i < 4; i++) confirmations += (await traffic.tick({ batch: 20, newShare: 0 })).confirmations;
    expect(traffic.accuracy()).toBeGreaterThan(0.8);
    expect(confirmations).toBeGreaterThan(60);
    await expectNothingLost();
    expect((await db.triggers()).filter((t) => t.status === 'fired')).toEqual([]);
  });

  it('a new category appears: misclassification reports trigger retraining', async () => {
    const trigger = await waitFor('a retraining trigger after misclassification reports', async () => {
      const fired = (await db.triggers()).filter((t) => t.status === 'fired' || t.status === 'external');
      return fired[0];
    }, { timeoutMs: 60_000, onTick: async () => { await traffic.pacedTick({ batch: 10, newShare: 0.5 }); } });
    expect(['threshold', 'performance', 'drift']).toContain(trigger.reason);
    const newSeen = traffic.observations.filter((o) => o.isNew);
    expect(newSeen.length).toBeGreaterThan(0);
    expect(newSeen.every((o) => !o.correct)).toBe(true); // the base cannot know a label it never saw
    await expectNothingLost();
  });

  it('the trainer trains and registers a challenger that knows the new category', async () => {
    // No traffic while it trains: more corrections would only queue the next retraining.
    const v = await waitFor('a challenger in the registry', async () => (await db.versions()).find((x) => x.version !== w.baseVersion), {
      timeoutMs: 150_000, intervalMs: 500, context: () => w.stack.logTail('trainer', 15),
    });
    challenger = v.version;
    expect(v.labels).toContain(w.corpus.newLabel);
    const jobs = await db.jobs();
    expect(jobs.find((j) => j.version === challenger)?.state).toBe('succeeded');
  });

  it('the ab-router tests the challenger on live traffic and promotes it', async () => {
    const e = await waitFor('an experiment for the challenger', async () => (await db.experiments()).find((x) => x.challenger === challenger), { timeoutMs: 30_000 });
    expect(e.champion).toBe(w.baseVersion);
    const start = Date.now();
    // Users now give thumbs up/down: outcomes for the test, no new corrections to retrain on. A second
    // retraining (the corrections sent while the first one trained, or a drift report) may register a
    // newer challenger that supersedes this experiment: then that one is tested and promoted.
    const promoted = await waitFor(`the ab-router to promote ${challenger} (or a newer challenger)`, async () => {
      const c = await db.champion();
      return c !== undefined && c !== w.baseVersion ? c : undefined;
    }, {
      timeoutMs: 180_000, intervalMs: 200,
      onTick: async () => { await traffic.pacedTick({ batch: 30, newShare: 0.3, style: 'thumbs' }); },
      context: () => w.stack.logTail('ab-router', 15),
    });
    expect(Number(promoted.split('.')[1])).toBeGreaterThanOrEqual(Number(challenger.split('.')[1]));
    challenger = promoted;
    expect((await db.experiments()).find((x) => x.challenger === promoted)?.state).toBe('promoted');
    expect((await db.versions()).find((v) => v.version === promoted)?.labels).toContain(w.corpus.newLabel);
    // Both arms really served traffic during the test, and the challenger got the new category right.
    const during = traffic.observations.filter((o) => o.at >= start);
    expect(during.filter((o) => o.variant === 'challenger').length).toBeGreaterThan(30);
    expect(during.filter((o) => o.variant === 'champion').length).toBeGreaterThan(30);
    expect(traffic.accuracy((o) => o.at >= start && o.version === challenger && o.isNew)).toBeGreaterThan(0.5);
    expect(traffic.accuracy((o) => o.at >= start && o.version === w.baseVersion && o.isNew)).toBe(0);
    await expectNothingLost();
  });

  it('a deliberately bad version is rolled back automatically', async () => {
    // Settle first: a drift report may have queued one more retraining; let it finish and end any
    // experiment it started (an operator's stop), so the champion is known before the bad push.
    await waitFor('no training job queued or running', async () => ((await db.jobs()).some((j) => j.state === 'queued' || j.state === 'running') ? undefined : true), { timeoutMs: 90_000 });
    for (const x of await w.stack.api.abRouter.experiments(w.model)) {
      if (x.state === 'running') await stopExperiment(x.id);
    }
    good = (await db.champion()) ?? '';
    // The promoted challenger, or a later retraining of it that won its own test meanwhile.
    expect(good).not.toBe(w.baseVersion);
    expect(Number(good.split('.')[1])).toBeGreaterThanOrEqual(Number(challenger.split('.')[1]));
    // The champion needs a window of labelled traffic: its baseline is the bar the next one is held to.
    for (let i = 0; i < 4; i++) await traffic.tick({ batch: 30, newShare: 0.3, style: 'thumbs' });
    await waitFor(`the ab-router to hold 60 labelled predictions of ${good} since it became champion`, async () => {
      const r = await w.pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ab_outcomes o JOIN ab_champions c ON c.model = o.model AND c.version = o.model_version
         WHERE o.model = $1 AND o.correct IS NOT NULL AND o.predicted_at >= c.since`, [w.model]);
      return Number(r.rows[0]?.n) >= 60 ? true : undefined;
    }, { timeoutMs: 60_000, onTick: async () => { await traffic.pacedTick({ batch: 30, newShare: 0.3, style: 'thumbs' }); } });
    const file = join(w.workDir, 'bad.jsonl');
    writeFileSync(file, toJsonl(w.corpus.bad));
    const { stdout } = await w.stack.cli(['bootstrap', '--model', w.model, '--data', file, '--format', 'jsonl', '--epochs', '3', '--reason', 'e2e: deliberately bad version'], { timeoutMs: 120_000 });
    bad = /@(\d+\.\d+\.\d+) is champion/.exec(stdout)?.[1] ?? '';
    expect(bad).not.toBe('');
    await waitFor(`the ab-router health check to roll back ${bad}`, async () => ((await db.champion()) === good ? true : undefined), {
      timeoutMs: 90_000, intervalMs: 200,
      onTick: async () => { await traffic.pacedTick({ batch: 30, newShare: 0.3, style: 'thumbs' }); },
      context: () => w.stack.logTail('ab-router', 15),
    });
    expect(traffic.observations.some((o) => o.version === bad)).toBe(true); // it really served before it was caught
    expect(traffic.accuracy((o) => o.version === bad)).toBeLessThan(0.5);
    const versions = await db.versions();
    expect(versions.find((v) => v.version === bad)?.status).toBe('rolled_back');
    const rolled = (await db.history()).find((h) => h.version === bad && h.to === 'rolled_back');
    expect(rolled?.actor).toMatch(/ab-router/);
  });

  it('serving answers with the restored champion', async () => {
    const answers = await waitFor(`serving to answer with ${good} again`, async () => {
      const xs = await w.stack.api.serving.predictBatch(w.model, w.corpus.newTraffic.slice(0, 40).map((r, i) => ({ text: r.text, subjectId: `after-${i}` })));
      return xs.every((a) => a.modelVersion === good) ? xs : undefined;
    }, { timeoutMs: 20_000 });
    const right = answers.filter((a, i) => a.label === w.corpus.newTraffic[i]?.label).length;
    expect(right / answers.length).toBeGreaterThan(0.5);
    await expectNothingLost();
    w.stack.assertAlive();
  });
});
