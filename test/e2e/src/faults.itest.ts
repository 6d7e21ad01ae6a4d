import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSource, makeEvent } from '@flywheel/contracts';
import type { FeedbackItemInput } from '@flywheel/local-stack';
import { createTraffic, type Traffic } from './support/createTraffic.js';
import { produceRaw } from './support/kafkaTopics.js';
import { createStoreProbe, type StoreProbe } from './support/storeProbe.js';
import { startE2eWorld, type E2eWorld } from './support/startE2eStack.js';
import { waitFor } from './support/waitFor.js';

// Faults on one stack (its own mock broker and Redis, so both may be taken away), one after the
// other. Every crash "mid-X" is a failpoint (FLYWHEEL_FAILPOINTS): the process kills itself at
// exactly that line, so the fault lands in the same place on a fast machine and on a busy one.
// Every wait is on observable state (rows, exits, /readyz). After each fault nothing accepted is
// lost; at the end the loop has still completed (trigger → challenger → experiment → promotion).
describe('faults: nothing accepted is lost and the loop still completes', () => {
  let w: E2eWorld;
  let db: StoreProbe;
  let traffic: Traffic;

  /** Every feedback id the ingest API accepted is in PostgreSQL, once, and reached the aggregator's ledger over Kafka. */
  const expectNothingLost = async (timeoutMs = 90_000): Promise<void> => {
    const accepted = [...traffic.acceptedIds];
    await waitFor(`the aggregator ledger to hold all ${accepted.length} accepted feedback ids`, async () => {
      const l = await db.ledgerIds();
      return accepted.every((id) => l.has(id)) ? true : undefined;
    }, { timeoutMs, context: () => `aggregator log:\n${w.stack.logTail('aggregator', 8)}\ningest log:\n${w.stack.logTail('feedback-ingest', 5)}` });
    const rows = await db.feedbackIds();
    expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
    expect(rows.size).toBe(accepted.length);
    await waitFor('the outbox to be fully published', async () => ((await db.unpublishedOutbox()) === 0 ? true : undefined), { timeoutMs: 30_000 });
  };
  /** Confirmations of old-category texts: feedback that never triggers retraining. */
  const confirmations = (n: number, offset = 0): FeedbackItemInput[] =>
    Array.from({ length: n }, (_, i) => {
      const r = w.corpus.oldTraffic[(offset + i) % w.corpus.oldTraffic.length]!;
      return { model: w.model, kind: 'confirmation', text: r.text, predictedLabel: r.label, reporter: `u-${i % 50}` };
    });
  /** Corrections of new-category texts the base model gets wrong (20 fire a retraining trigger). */
  const corrections = (n: number, offset = 0): FeedbackItemInput[] =>
    Array.from({ length: n }, (_, i) => {
      const r = w.corpus.newTraffic[(offset + i) % w.corpus.newTraffic.length]!;
      return { model: w.model, kind: 'misclassification', text: r.text, predictedLabel: 'kitchen', correctLabel: r.label, reporter: `u-${i % 50}` };
    });
  const jobsLog = (): string => `trainer log:\n${w.stack.logTail('trainer', 10)}`;

  beforeAll(async () => {
    w = await startE2eWorld('faults', { privateKafka: true });
    db = createStoreProbe(w.pool, w.model);
    traffic = createTraffic({ api: w.stack.api, model: w.model, oldPool: w.corpus.oldTraffic, newPool: w.corpus.newTraffic, backlog: () => db.ledgerBacklog(), seed: 5 });
    for (let i = 0; i < 3; i++) await traffic.tick({ batch: 20, newShare: 0, style: 'thumbs' });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('duplicate and out-of-order deliveries are counted once', async () => {
    // REST: a retried request with the same Idempotency-Key gets the first answer and adds nothing.
    const body = JSON.stringify({ items: confirmations(5, 900) });
    const post = async (): Promise<string[]> => {
      const res = await fetch(`${w.stack.url('feedback-ingest')}/v1/feedback/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `e2e-${w.model}`, authorization: `Bearer ${w.stack.adminToken}` }, body });
      expect(res.status).toBe(202);
      return ((await res.json()) as { items: { feedbackId: string }[] }).items.map((i) => i.feedbackId);
    };
    const first = await post();
    expect(await post()).toEqual(first);
    for (const id of first) traffic.acceptedIds.add(id);
    // Kafka: an outside producer delivers events twice and out of order; a marker event goes last,
    // so once it is in the ledger every duplicate before it has been consumed too (one partition per model key).
    const events = Array.from({ length: 6 }, (_, i) => {
      const id = randomUUID();
      const e = makeEvent('feedback', { source: clientSource('e2e-outside'), subject: w.model, id, data: { feedbackId: id, kind: 'confirmation', text: `outside kettle ${i}`, predictedLabel: 'kitchen' } as never });
      return { key: w.model, value: JSON.stringify(e), id };
    });
    const order = [2, 0, 0, 4, 1, 3, 2, 1, 4, 4, 5];
    await produceRaw(w.kafka!.brokers, `${w.stack.topicPrefix}feedback-events`, order.map((i) => events[i]!));
    const marker = events[5]!.id;
    await waitFor('the last outside event in the ledger', async () => ((await db.ledgerIds()).has(marker) ? true : undefined), { timeoutMs: 30_000 });
    const ids = events.slice(0, 5).map((e) => e.id);
    const r = await w.pool.query<{ n: string }>('SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = ANY($1::uuid[])', [ids]);
    expect(Number(r.rows[0]?.n)).toBe(5);
    await expectNothingLost();
  });

  it('the broker goes away and comes back', async () => {
    w.kafka!.pause();
    try {
      // While the broker is gone feedback is still accepted (PostgreSQL + outbox) and predictions answered.
      for (let i = 0; i < 5; i++) await traffic.send(confirmations(40, 5000 + i * 40));
      expect((await w.stack.api.serving.predict(w.model, 'steel kettle', 'outage')).modelVersion).toBe(w.baseVersion);
      expect(await db.unpublishedOutbox()).toBeGreaterThan(0);
    } finally {
      w.kafka!.resume();
    }
    await expectNothingLost();
    w.stack.assertAlive();
  });

  it('feedback-ingest crashes between publishing its outbox backlog and marking it sent', async () => {
    // A backlog for certain: the broker is away while the feedback is accepted; no request is in flight at the crash.
    w.kafka!.pause();
    try {
      for (let i = 0; i < 4; i++) await traffic.send(confirmations(150, 7000 + i * 150));
      expect(await db.unpublishedOutbox(), 'an outbox backlog before the crash').toBeGreaterThan(0);
      await w.stack.kill('feedback-ingest', 'SIGKILL');
    } finally {
      w.kafka!.resume();
    }
    await w.stack.armFailpoints('feedback-ingest', 'outbox.relay.after-publish=exit');
    await w.stack.waitFailpoint('feedback-ingest', 'outbox.relay.after-publish');
    expect(await db.unpublishedOutbox(), 'published but not marked: the rows are still unsent').toBeGreaterThan(0);
    await w.stack.start('feedback-ingest');
    // Re-published with the same event ids: the ledger counts each once.
    await expectNothingLost();
  });

  it('Redis is flushed', async () => {
    await w.redis.client.flushall();
    for (let i = 0; i < 4; i++) await traffic.tick({ batch: 20, newShare: 0, style: 'thumbs' });
    await expectNothingLost();
    w.stack.assertAlive();
  });

  it('the aggregator crashes between writing a trigger and publishing it; the trainer crashes mid-training', async () => {
    await w.stack.armFailpoints('trainer', 'trainer.mid-training=exit');
    await w.stack.armFailpoints('aggregator', 'aggregator.after-ledger-write=exit');
    await traffic.send(corrections(25));
    await w.stack.waitFailpoint('aggregator', 'aggregator.after-ledger-write');
    const fired = (await db.triggers()).filter((t) => t.status === 'fired');
    expect(fired, 'the trigger is committed in the ledger').toHaveLength(1);
    await w.stack.start('aggregator');
    // The restarted aggregator's sweep publishes the committed trigger; the trainer takes it and crashes mid-training.
    await w.stack.waitFailpoint('trainer', 'trainer.mid-training');
    const job = (await db.jobs()).find((j) => j.fencingToken === fired[0]!.fencingToken);
    expect(job?.state, 'the job of that trigger was running when the trainer died').toBe('running');
    await expectNothingLost();
    await w.stack.start('trainer');
    await waitFor(`job ${job!.id} recovered as failed`, async () => ((await db.jobs()).find((j) => j.id === job!.id)?.state === 'failed' ? true : undefined), {
      timeoutMs: 90_000, intervalMs: 500, context: jobsLog,
    });
    expect((await db.triggers()).filter((t) => t.fencingToken === fired[0]!.fencingToken), 'one trigger, never sent twice as two').toHaveLength(1);
  });

  it('the trainer crashes mid-upload; the orphan is removed and nothing half-written is registered', async () => {
    await w.stack.armFailpoints('trainer', 'artifacts.mid-upload=exit');
    const before = (await db.jobs()).length;
    await traffic.send(corrections(25, 100));
    await w.stack.waitFailpoint('trainer', 'artifacts.mid-upload');
    const job = (await db.jobs()).slice(before).find((j) => j.state === 'running');
    expect(job?.version, 'the crashed job had named its version').toBeTruthy();
    await w.stack.start('trainer');
    await waitFor(`job ${job!.id} recovered as failed`, async () => ((await db.jobs()).find((j) => j.id === job!.id)?.state === 'failed' ? true : undefined), {
      timeoutMs: 90_000, intervalMs: 500, context: jobsLog,
    });
    expect((await db.versions()).map((v) => v.version)).not.toContain(job!.version);
  });

  it('serving crashes mid-swap to the new challenger and comes back serving champion and challenger', async () => {
    await w.stack.armFailpoints('serving', 'serving.mid-swap=exit');
    await traffic.send(corrections(25, 200));
    const v = await waitFor('a challenger in the registry', async () => (await db.versions()).find((x) => x.status === 'challenger'), {
      timeoutMs: 150_000, intervalMs: 500, context: jobsLog,
    });
    expect(v.labels).toContain(w.corpus.newLabel);
    await w.stack.waitFailpoint('serving', 'serving.mid-swap');
    await w.stack.start('serving');
    const answers = await waitFor('serving to split traffic between champion and the running experiment\'s challenger', async () => {
      const e = (await db.experiments()).find((x) => x.state === 'running');
      if (!e) return undefined;
      const xs = await w.stack.api.serving.predictBatch(w.model, w.corpus.newTraffic.slice(0, 60).map((r, i) => ({ text: r.text, subjectId: `swap-${i}` })));
      return xs.some((a) => a.variant === 'challenger' && a.modelVersion === e.challenger) && xs.some((a) => a.variant === 'champion') ? xs : undefined;
    }, { timeoutMs: 60_000, context: () => w.stack.logTail('serving', 10) });
    expect(answers.filter((a) => a.variant === 'champion').every((a) => a.modelVersion === w.baseVersion)).toBe(true);
  });

  it('the ab-router crashes between its decision and applying it; the promotion is finished after the restart, once', async () => {
    await w.stack.armFailpoints('ab-router', 'ab-router.after-decision=exit');
    await waitFor('the ab-router to decide (and crash at the failpoint)', async () => (w.stack.running('ab-router') ? undefined : true), {
      timeoutMs: 150_000, intervalMs: 200,
      onTick: async () => { await traffic.pacedTick({ batch: 30, newShare: 0.3, style: 'thumbs' }); },
      context: () => w.stack.logTail('ab-router', 10),
    });
    await w.stack.waitFailpoint('ab-router', 'ab-router.after-decision', 5_000);
    const decided = (await db.experiments()).find((e) => e.state === 'promoted');
    expect(decided, 'the decision is recorded').toBeDefined();
    expect(await db.champion(), 'but not applied yet').toBe(w.baseVersion);
    await w.stack.start('ab-router');
    const promoted = await waitFor(`the restarted ab-router to finish promoting ${decided!.challenger}`, async () => {
      const c = await db.champion();
      return c !== undefined && c !== w.baseVersion ? c : undefined;
    }, { timeoutMs: 90_000, intervalMs: 500, context: () => w.stack.logTail('ab-router', 10) });
    expect(promoted).toBe(decided!.challenger);
    expect((await db.history()).filter((h) => h.version === promoted && h.to === 'champion')).toHaveLength(1);
    expect((await db.versions()).filter((v) => v.status === 'champion')).toHaveLength(1);
    // Serving follows the finished decision: the promoted version answers as champion (a newer
    // challenger, trained meanwhile, may already be tested against it).
    await waitFor(`serving to answer with ${promoted} as champion`, async () => {
      const xs = await w.stack.api.serving.predictBatch(w.model, w.corpus.newTraffic.slice(0, 40).map((r, i) => ({ text: r.text, subjectId: `after-${i}` })));
      const champ = xs.filter((a) => a.variant === 'champion');
      return champ.length > 0 && champ.every((a) => a.modelVersion === promoted) ? true : undefined;
    }, { timeoutMs: 60_000, context: () => w.stack.logTail('serving', 10) });
    await expectNothingLost();
    w.stack.assertAlive();
  });
});
