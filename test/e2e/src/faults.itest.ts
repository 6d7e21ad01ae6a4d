import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '@flywheel/contracts';
import type { FeedbackItemInput } from '@flywheel/local-stack';
import { createTraffic, type Traffic } from './support/createTraffic.js';
import { produceRaw } from './support/kafkaTopics.js';
import { createStoreProbe, type StoreProbe } from './support/storeProbe.js';
import { startE2eWorld, type E2eWorld } from './support/startE2eStack.js';
import { sleep, waitFor } from './support/waitFor.js';

// Faults on one stack (its own mock broker and Redis, so both may be taken away), one after the
// other; after each, nothing accepted is lost; at the end the loop still completes
// (trigger → challenger → experiment → promotion) through the last faults.
describe('faults: nothing accepted is lost and the loop still completes', () => {
  let w: E2eWorld;
  let db: StoreProbe;
  let traffic: Traffic;
  let challenger = '';

  /** Every feedback id the ingest API accepted is in PostgreSQL, once, and reached the aggregator's ledger over Kafka. */
  const expectNothingLost = async (timeoutMs = 60_000): Promise<void> => {
    const accepted = [...traffic.acceptedIds];
    await waitFor(`the aggregator ledger to hold all ${accepted.length} accepted feedback ids`, async () => {
      const l = await db.ledgerIds();
      return accepted.every((id) => l.has(id)) ? true : undefined;
    }, { timeoutMs, context: () => `missing: ${accepted.length} accepted; aggregator log:\n${w.stack.logTail('aggregator', 8)}` });
    const rows = await db.feedbackIds();
    expect(accepted.filter((id) => !rows.has(id))).toEqual([]);
    expect(rows.size).toBe(accepted.length);
    expect(await db.unpublishedOutbox()).toBe(0);
  };
  /** Confirmations of old-category texts: feedback that never triggers retraining. */
  const confirmations = (n: number, offset = 0): FeedbackItemInput[] =>
    Array.from({ length: n }, (_, i) => {
      const r = w.corpus.oldTraffic[(offset + i) % w.corpus.oldTraffic.length]!;
      return { model: w.model, kind: 'confirmation', text: r.text, predictedLabel: r.label, reporter: `u-${i % 50}` };
    });
  /** Corrections of new-category texts the base model gets wrong. */
  const corrections = (n: number, offset = 0): FeedbackItemInput[] =>
    Array.from({ length: n }, (_, i) => {
      const r = w.corpus.newTraffic[(offset + i) % w.corpus.newTraffic.length]!;
      return { model: w.model, kind: 'misclassification', text: r.text, predictedLabel: 'kitchen', correctLabel: r.label, reporter: `u-${i % 50}` };
    });
  const restart = async (svc: Parameters<E2eWorld['stack']['kill']>[0]): Promise<void> => {
    await w.stack.kill(svc, 'SIGKILL');
    expect(w.stack.running(svc)).toBe(false);
    await w.stack.start(svc);
  };

  beforeAll(async () => {
    w = await startE2eWorld('faults', { privateKafka: true });
    db = createStoreProbe(w.pool, w.model);
    traffic = createTraffic({ api: w.stack.api, model: w.model, oldPool: w.corpus.oldTraffic, newPool: w.corpus.newTraffic, seed: 5 });
    for (let i = 0; i < 3; i++) await traffic.tick({ batch: 20, newShare: 0, style: 'thumbs' });
  });
  afterAll(async () => {
    await w?.close();
  });

  it('duplicate and out-of-order deliveries are counted once', async () => {
    // REST: a retried request with the same Idempotency-Key gets the first answer and adds nothing.
    const body = JSON.stringify({ items: confirmations(5, 900) });
    const post = async (): Promise<string[]> => {
      const res = await fetch(`${w.stack.url('feedback-ingest')}/v1/feedback/batch`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `e2e-${w.model}` }, body });
      expect(res.status).toBe(202);
      return ((await res.json()) as { items: { feedbackId: string }[] }).items.map((i) => i.feedbackId);
    };
    const first = await post();
    expect(await post()).toEqual(first);
    for (const id of first) traffic.acceptedIds.add(id);
    // Kafka: an outside producer delivers events twice and out of order.
    const events = Array.from({ length: 5 }, (_, i) => {
      const id = randomUUID();
      const e = makeEvent('feedback', { source: '/e2e/outside', subject: w.model, id, data: { feedbackId: id, kind: 'confirmation', text: `outside kettle ${i}`, predictedLabel: 'kitchen' } as never });
      return { key: w.model, value: JSON.stringify(e), id };
    });
    const order = [2, 0, 0, 4, 1, 3, 2, 1, 4, 4];
    await produceRaw(w.kafka!.brokers, `${w.stack.topicPrefix}feedback-events`, order.map((i) => events[i]!));
    const ids = events.map((e) => e.id);
    await waitFor('the outside events in the ledger', async () => {
      const r = await w.pool.query<{ n: string }>('SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = ANY($1::uuid[])', [ids]);
      return Number(r.rows[0]?.n) === ids.length ? true : undefined;
    }, { timeoutMs: 30_000 });
    await sleep(1000); // the late duplicates have arrived too
    const r = await w.pool.query<{ n: string }>('SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = ANY($1::uuid[])', [ids]);
    expect(Number(r.rows[0]?.n)).toBe(5);
    await expectNothingLost();
  });

  it('SIGKILL feedback-ingest with an outbox backlog', async () => {
    let backlog = 0;
    for (let attempt = 0; attempt < 4 && backlog === 0; attempt++) {
      await Promise.all(Array.from({ length: 6 }, (_, i) => traffic.send(confirmations(300, attempt * 2000 + i * 300))));
      backlog = await db.unpublishedOutbox();
    }
    expect(backlog, 'an outbox backlog at the moment of the kill').toBeGreaterThan(0);
    await restart('feedback-ingest');
    await expectNothingLost();
  });

  it('the broker goes away and comes back', async () => {
    w.kafka!.pause();
    try {
      // While the broker is gone feedback is still accepted (PostgreSQL + outbox) and predictions answered.
      for (let i = 0; i < 5; i++) {
        await traffic.send(confirmations(40, 5000 + i * 40));
        await sleep(1500);
      }
      expect((await w.stack.api.serving.predict(w.model, 'steel kettle', 'outage')).modelVersion).toBe(w.baseVersion);
      expect(await db.unpublishedOutbox()).toBeGreaterThan(0);
    } finally {
      w.kafka!.resume();
    }
    await expectNothingLost(90_000);
    w.stack.assertAlive();
  });

  it('Redis is flushed', async () => {
    await w.redis.client.flushall();
    for (let i = 0; i < 4; i++) await traffic.tick({ batch: 20, newShare: 0, style: 'thumbs' });
    await expectNothingLost();
    w.stack.assertAlive();
  });

  it('SIGKILL the aggregator mid-count: one trigger, every event counted', async () => {
    const sends = Promise.all(Array.from({ length: 5 }, (_, i) => traffic.send(corrections(8, i * 8))));
    await sleep(150);
    await w.stack.kill('aggregator', 'SIGKILL');
    await sends;
    await w.stack.start('aggregator');
    await expectNothingLost();
    const fired = await waitFor('a retraining trigger from the corrections', async () => {
      const t = (await db.triggers()).filter((x) => x.status === 'fired');
      return t.length > 0 ? t : undefined;
    }, { timeoutMs: 30_000 });
    const tokens = fired.map((t) => t.fencingToken);
    expect(new Set(tokens).size).toBe(tokens.length); // never the same trigger twice
  });

  it('SIGKILL the trainer mid-job; the job is recovered and a later one succeeds', async () => {
    const job = await waitFor('a running training job', async () => (await db.jobs()).find((j) => j.state === 'running'), { timeoutMs: 60_000, intervalMs: 50 });
    await w.stack.kill('trainer', 'SIGKILL');
    const after = (await db.jobs()).find((j) => j.id === job.id);
    expect(after?.state, 'killed while the job was running').toBe('running');
    await w.stack.start('trainer');
    await waitFor(`job ${job.id} recovered as failed`, async () => ((await db.jobs()).find((j) => j.id === job.id)?.state === 'failed' ? true : undefined), {
      timeoutMs: 90_000, intervalMs: 1000, context: () => w.stack.logTail('trainer', 10),
    });
    // The loop goes on: new corrections trigger a new job that registers a challenger.
    await traffic.send(corrections(25, 100));
    const v = await waitFor('a challenger after the trainer restart', async () => (await db.versions()).find((x) => x.status === 'challenger'), {
      timeoutMs: 120_000, intervalMs: 50, context: () => w.stack.logTail('trainer', 10),
    });
    challenger = v.version;
    expect(v.labels).toContain(w.corpus.newLabel);
  });

  it('SIGKILL serving mid-swap: it comes back serving champion and challenger', async () => {
    // The challenger was registered a moment ago: serving is loading it / applying the new routing.
    await restart('serving');
    // A newer challenger may supersede this one (corrections kept arriving); follow the running experiment.
    const answers = await waitFor('serving to split traffic between champion and the running experiment\'s challenger', async () => {
      const e = (await db.experiments()).find((x) => x.state === 'running');
      if (!e) return undefined;
      const xs = await w.stack.api.serving.predictBatch(w.model, w.corpus.newTraffic.slice(0, 60).map((r, i) => ({ text: r.text, subjectId: `swap-${i}` })));
      return xs.some((a) => a.variant === 'challenger' && a.modelVersion === e.challenger) && xs.some((a) => a.variant === 'champion') ? xs : undefined;
    }, { timeoutMs: 60_000, context: () => w.stack.logTail('serving', 10) });
    expect(answers.filter((a) => a.variant === 'champion').every((a) => a.modelVersion === w.baseVersion)).toBe(true);
  });

  it('SIGKILL the ab-router mid-decision; a challenger is still promoted, once', async () => {
    for (let i = 0; i < 3; i++) await traffic.tick({ batch: 30, newShare: 0.3, style: 'thumbs' });
    await w.stack.kill('ab-router', 'SIGKILL');
    for (let i = 0; i < 3; i++) await traffic.tick({ batch: 30, newShare: 0.3, style: 'thumbs' }); // outcomes wait in Kafka
    await w.stack.start('ab-router');
    const promoted = await waitFor('the ab-router to promote a challenger', async () => {
      const c = await db.champion();
      return c !== undefined && c !== w.baseVersion ? c : undefined;
    }, {
      timeoutMs: 120_000, intervalMs: 200,
      onTick: async () => { await traffic.tick({ batch: 30, newShare: 0.3, style: 'thumbs' }); },
      context: () => w.stack.logTail('ab-router', 10),
    });
    expect(Number(promoted.split('.')[1])).toBeGreaterThanOrEqual(Number(challenger.split('.')[1])); // this challenger or a newer one
    expect((await db.experiments()).find((e) => e.challenger === promoted)?.state).toBe('promoted');
    const promotions = (await db.history()).filter((h) => h.version === promoted && h.to === 'champion');
    expect(promotions).toHaveLength(1);
    expect((await db.versions()).filter((v) => v.status === 'champion')).toHaveLength(1);
    await expectNothingLost();
    w.stack.assertAlive();
  });
});
