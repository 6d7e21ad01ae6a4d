// The attacks of "Safe by default" against the aggregator, on the real stores: one client's flood of
// corrections or outcomes, corrections proposing a label nobody accepted, data PostgreSQL refuses.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterHeaders, makeEvent } from '@flywheel/contracts';
import { PoisonMessage } from '@flywheel/runtime';
import { isolatedPlatform, until, type IsolatedPlatform } from '@flywheel/testing';
import { startAggregator, type StartedAggregator } from './testPlatform.js';

let p: IsolatedPlatform;
let agg: StartedAggregator;
const dlq: { reason: string; value: string }[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
let sequence = 0;
const standard = (client: string) => ({ client, clientTrust: 'standard' as const });
const trusted = { client: 'reviewer', clientTrust: 'trusted' as const };

const feedback = (model: string, from: { client: string; clientTrust: 'trusted' | 'standard' }, data: Record<string, unknown> = {}) =>
  makeEvent('feedback', { source: '/flywheel/feedback-ingest', subject: model, data: { feedbackId: randomUUID() as never, text: 'late again', kind: 'misclassification', predictedLabel: 'low', correctLabel: 'high', sequence: ++sequence, ...from, ...data } });
const handle = async (events: ReturnType<typeof feedback>[]) => {
  for (const e of events) await agg.handlers.feedback(e, { topic: 't', partition: 0, offset: '0', key: e.subject });
};
const fired = async (model: string): Promise<number> => Number((await p.pool.query(`SELECT count(*) AS n FROM aggregator_triggers WHERE model = $1 AND status = 'fired'`, [model])).rows[0].n);
const pendingCorrections = async (model: string): Promise<number> => (await agg.ledger.reassess(model)).snapshot.pendingCorrections;

beforeAll(async () => {
  p = await isolatedPlatform('aggregator-governance');
  // Threshold 50 (cap 20 per standard client); the window rule only where a test asks for it.
  agg = await startAggregator(p, { env: { RETRAIN_MIN_WINDOW: '100000', RETRAIN_WINDOW_SIZE: '100000', RULES_JSON: JSON.stringify({ 'win-model': { windowSize: 200, minWindow: 100 } }) } });
  const kafka = new Kafka({ brokers: p.brokers, clientId: `agg-gov-${p.run}`, logLevel: logLevel.NOTHING });
  const c = kafka.consumer({ groupId: `agg-gov-${p.run}` });
  await c.connect();
  await c.subscribe({ topics: [`${p.topicPrefix}feedback-events.dlq`], fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => { dlq.push({ value: message.value?.toString() ?? '', reason: message.headers?.[deadLetterHeaders.reason]?.toString() ?? '' }); } });
  cleanups.push(() => c.disconnect());
}, 120_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await agg?.svc.stop();
  await p?.drop();
}, 120_000);

describe('aggregator counts evidence fairly', () => {
  it('does not let 60 corrections from one standard client fire a trigger: it counts 20 of them (40% of 50)', async () => {
    const model = 'cap-model';
    await handle(Array.from({ length: 60 }, () => feedback(model, standard('mallory'))));
    expect(await fired(model)).toBe(0);
    expect(await pendingCorrections(model)).toBe(20);
    // Another standard client adds its own 20; a third completes the threshold: many clients can.
    await handle(Array.from({ length: 30 }, () => feedback(model, standard('bob'))));
    expect(await fired(model)).toBe(0);
    await handle(Array.from({ length: 10 }, () => feedback(model, standard('carol'))));
    expect(await fired(model)).toBe(1);
  });

  it('does not cap trusted clients (reviewers, the admin token): 50 of their corrections fire', async () => {
    const model = 'trusted-model';
    await handle(Array.from({ length: 49 }, () => feedback(model, trusted)));
    expect(await fired(model)).toBe(0);
    await handle([feedback(model, trusted)]);
    expect(await fired(model)).toBe(1);
  });

  it('does not let one standard client fill the outcome window: 300 thumbs down start no performance retraining', async () => {
    const model = 'win-model';
    await handle(Array.from({ length: 300 }, () => feedback(model, standard('mallory'), { kind: 'thumbs_down', correctLabel: undefined })));
    expect(await fired(model)).toBe(0);
    const a = await agg.ledger.reassess(model);
    expect(a.snapshot.windowTotal).toBe(80);
    expect(a.accuracy).toBeNull();
  });

  it('does not count corrections proposing a label until feedback-ingest accepted it, then counts them', async () => {
    const model = 'proposal-model';
    await handle(Array.from({ length: 50 }, () => feedback(model, trusted, { correctLabel: 'comets', proposedLabel: true })));
    expect(await fired(model)).toBe(0);
    expect(await pendingCorrections(model)).toBe(0);
    // feedback-ingest's table, as far as the aggregator reads it (the ingest migration owns it).
    await p.pool.query('CREATE TABLE IF NOT EXISTS proposed_labels (model text, label text, accepted_at timestamptz, PRIMARY KEY (model, label))');
    await p.pool.query('INSERT INTO proposed_labels (model, label, accepted_at) VALUES ($1, $2, now())', [model, 'comets']);
    // Accepted: the 50 count at the next assessment (an event or the schedule sweep) and reach the threshold.
    const a = await agg.ledger.reassess(model);
    expect(a.fired?.firing).toEqual({ reason: 'threshold', details: { pendingCorrections: 50, threshold: 50 } });
    expect(await fired(model)).toBe(1);
  });

  it('dead-letters an event whose data PostgreSQL refuses, with the reason, and goes on with the partition', async () => {
    const model = 'poison-model';
    // A sequence beyond bigint: valid JSON and schema, refused by PostgreSQL with SQLSTATE 22003.
    const poison = feedback(model, trusted, { sequence: 1e20 });
    const err = await agg.handlers.feedback(poison, { topic: 't', partition: 0, offset: '0', key: model }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(PoisonMessage);
    expect((err as PoisonMessage).reason).toBe('sqlstate_22003');
    const bus = p.newBus();
    cleanups.push(() => bus.close());
    const next = feedback(model, trusted);
    await bus.publisher.publishMany('feedback', [feedback(model, trusted, { sequence: 1e20 }), next]);
    await until('the dead letter of the refused event', () => dlq.some((d) => /22003/.test(d.reason)), 40_000);
    await until('the event after it counted', async () => Number((await p.pool.query('SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = $1', [next.id])).rows[0].n) === 1, 40_000);
  });
});
