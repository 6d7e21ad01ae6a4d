// The outbox on the real PostgreSQL and the local Kafka-protocol broker. @flywheel/testing depends on
// this package, so this file isolates itself: a schema and a topic prefix per test, dropped at the end.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import type { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaBus, type Bus } from '@flywheel/bus';
import { makeEvent, type EventOf } from '@flywheel/contracts';
import { armFailpoints, createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { inIdOrder, pendingRowsQuery } from './createOutboxRelay.js';
import { createOutboxRelay, createPool, enqueue, enqueueInTx, migrateOutbox, withSearchPath, withTransaction, type OutboxPublisher, type OutboxRelay, type Pool } from '../index.js';

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: run `bash scripts/platform.sh up` and source .flywheel/platform.env');
const run = randomUUID().slice(0, 8);
const logger = createLogger({ service: 'outbox-itest', level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
const admin = createPool(url, { max: 1, applicationName: `outbox-itest-${run}-admin` });
const cleanups: (() => Promise<unknown>)[] = [];
const schemas: string[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  try {
    // Not swallowed: a schema left behind fails the file, naming it.
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [`outbox-itest-${run}`]);
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await admin.end();
  }
});

const until = async (what: string, cond: () => boolean | Promise<boolean>, seen: () => unknown, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; saw ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A fresh schema with the outbox table, a topic prefix, and relays/buses that are stopped at the end. */
const fixture = async (name: string) => {
  const schema = `outbox_${name}_${run}`;
  const topicPrefix = `outbox-${name}-${run}-`;
  await admin.query(`CREATE SCHEMA "${schema}"`);
  schemas.push(schema);
  const pool: Pool = createPool(withSearchPath(url, schema), { max: 6, applicationName: `outbox-itest-${run}` });
  cleanups.push(() => pool.end());
  await migrateOutbox(pool);
  const newBus = (o: { brokers?: string[] } = {}): Bus => {
    // Only the publisher is used: consume (the one user of dedupe) is never called on these buses.
    const bus = createKafkaBus({
      brokers: o.brokers ?? brokers, clientId: `outbox-itest-${run}`, logger, metrics: createMetricsRegistry('outbox-itest'), topicPrefix,
      dedupe: { seen: async (_g, ids) => ids.map(() => false), mark: async () => {} },
    });
    cleanups.push(() => bus.close());
    return bus;
  };
  const relay = (publisher: OutboxPublisher, metrics: Registry = createMetricsRegistry('outbox-itest')): OutboxRelay => {
    const r = createOutboxRelay({ pool, publisher, logger, metrics, lockName: `${schema}.outbox`, idlePollMs: 50, batchSize: 100 });
    cleanups.push(() => r.stop());
    return r;
  };
  /** Every delivery of every event id on this fixture's retraining-triggers topic. */
  const deliveries = async (): Promise<Map<string, number>> => {
    const seen = new Map<string, number>();
    const c = new Kafka({ brokers, clientId: `outbox-count-${run}`, logLevel: logLevel.NOTHING }).consumer({ groupId: `outbox-count-${name}-${run}` });
    await c.connect();
    await c.subscribe({ topic: `${topicPrefix}retraining-triggers`, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => {
      const id = (JSON.parse(message.value?.toString() ?? '{}') as { id?: string }).id ?? '?';
      seen.set(id, (seen.get(id) ?? 0) + 1);
    } });
    cleanups.push(() => c.disconnect());
    return seen;
  };
  const row = async (eventId: string) =>
    (await pool.query<{ published_at: Date | null; poisoned_at: Date | null; attempts: number; last_error: string | null }>(
      'SELECT published_at, poisoned_at, attempts, last_error FROM flywheel_outbox WHERE event_id = $1', [eventId])).rows[0];
  return { schema, pool, newBus, relay, deliveries, row };
};

const trigger = (model = 'outbox-model', token = 1): EventOf<'retrainingTriggers'> =>
  makeEvent('retrainingTriggers', { source: '/outbox-itest', subject: model, data: { reason: 'manual', details: {}, requestedBy: 'outbox-itest', fencingToken: token as never } });

const metricValue = async (metrics: Registry, name: string): Promise<number> =>
  ((await metrics.getSingleMetric(name)?.get())?.values ?? []).reduce((sum, v) => sum + v.value, 0);

// Each test has its own schema, topic prefix and lock, so they run together: most of each is
// waiting for the broker (group joins), not work. The failpoint test runs alone after them, as
// failpoints are process-wide.
describe.concurrent('the outbox (real PostgreSQL and Kafka)', () => {
  it('publishes what committed with its state change, never what rolled back, and each event id once', async () => {
    const f = await fixture('tx');
    await f.pool.query('CREATE TABLE decisions (id text PRIMARY KEY)');
    const [committed, rolledBack, later] = [trigger(), trigger(), trigger()];
    await withTransaction(f.pool, async (tx) => {
      await tx.query('INSERT INTO decisions VALUES ($1)', ['kept']);
      expect(await enqueueInTx(tx, { topic: 'retrainingTriggers', event: committed })).toBe(true);
    });
    await expect(withTransaction(f.pool, async (tx) => {
      await tx.query('INSERT INTO decisions VALUES ($1)', ['undone']);
      await enqueueInTx(tx, { topic: 'retrainingTriggers', event: rolledBack });
      throw new Error('the decision failed after its outbox row was written');
    })).rejects.toThrow(/decision failed/);
    expect(await enqueue(f.pool, { topic: 'retrainingTriggers', event: committed })).toBe(false); // same event id: no second row
    expect(await enqueue(f.pool, { topic: 'retrainingTriggers', event: later })).toBe(true);

    const relay = f.relay(f.newBus().publisher);
    expect(await relay.backlog()).toBe(2);
    const seen = await f.deliveries();
    relay.start();
    // Same subject, same partition: once `later` is here, everything enqueued before it has been too.
    await until('both committed events to arrive', () => seen.has(committed.id) && seen.has(later.id), () => [...seen]);
    expect(seen.get(committed.id)).toBe(1);
    expect(seen.has(rolledBack.id)).toBe(false);
    expect(await f.row(rolledBack.id)).toBeUndefined();
    expect((await f.pool.query('SELECT id FROM decisions')).rows).toEqual([{ id: 'kept' }]);
    await until('the backlog to drain', async () => (await relay.backlog()) === 0, () => 'backlog > 0');
    expect((await f.row(committed.id))?.published_at).toBeInstanceOf(Date);
  });

  it('moves a row its topic refuses aside, with the reason and a metric, and publishes the rows after it', async () => {
    const f = await fixture('poison');
    const good = [trigger(), trigger(), trigger()];
    const bad = { ...trigger(), data: { reason: 'no-such-reason' } } as unknown as EventOf<'retrainingTriggers'>;
    await enqueue(f.pool, { topic: 'retrainingTriggers', event: good[0]! });
    await enqueue(f.pool, { topic: 'retrainingTriggers', event: bad });
    await enqueue(f.pool, { topic: 'retrainingTriggers', event: good[1]! });
    // A row no service should write: a topic this build does not know.
    const stray = trigger();
    await f.pool.query(`INSERT INTO flywheel_outbox (event_id, topic, key, event) VALUES ($1, 'retiredTopic', 'm', $2::jsonb)`, [stray.id, JSON.stringify(stray)]);
    await enqueue(f.pool, { topic: 'retrainingTriggers', event: good[2]! });

    const metrics = createMetricsRegistry('outbox-itest');
    const relay = f.relay(f.newBus().publisher, metrics);
    const seen = await f.deliveries();
    relay.start();
    await until('the good events to arrive', () => good.every((e) => seen.has(e.id)), () => [...seen]);
    expect(good.map((e) => seen.get(e.id))).toEqual([1, 1, 1]);
    expect(seen.has(bad.id)).toBe(false);
    const poisoned = await f.row(bad.id);
    expect(poisoned?.poisoned_at).toBeInstanceOf(Date);
    expect(poisoned?.published_at).toBeNull();
    expect(poisoned?.last_error).toMatch(/^schema refused the event: data\.reason/);
    expect((await f.row(stray.id))?.last_error).toMatch(/unknown topic "retiredTopic"/);
    expect(await relay.backlog()).toBe(0);
    const text = await metrics.metrics();
    expect(text).toMatch(/flywheel_outbox_poisoned_total\{topic="retraining-triggers"[^}]*\} 1\n/);
    expect(text).toMatch(/flywheel_outbox_poisoned_total\{topic="retiredTopic"[^}]*\} 1\n/);
    expect(text).toMatch(/flywheel_outbox_published_total\{topic="retraining-triggers"[^}]*\} 3\n/);
    expect(text).toMatch(/flywheel_outbox_backlog\{[^}]*\} 0\n/);
  });

  it('publishes from one replica of two, and the other takes over when it stops', async () => {
    const f = await fixture('leader');
    const [ma, mb] = [createMetricsRegistry('outbox-itest'), createMetricsRegistry('outbox-itest')];
    const a = f.relay(f.newBus().publisher, ma);
    const b = f.relay(f.newBus().publisher, mb);
    const seen = await f.deliveries();
    a.start();
    b.start();
    const first = Array.from({ length: 50 }, (_, i) => trigger(`model-${i % 5}`));
    for (const e of first) await enqueue(f.pool, { topic: 'retrainingTriggers', event: e });
    a.nudge();
    b.nudge();
    await until('the first 50 to arrive', () => first.every((e) => seen.has(e.id)), () => seen.size);
    expect(first.map((e) => seen.get(e.id))).toEqual(first.map(() => 1));
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const [leader, follower, followerMetrics] = a.isLeader() ? [a, b, mb] : [b, a, ma];
    expect(await metricValue(followerMetrics, 'flywheel_outbox_published_total')).toBe(0);

    await leader.stop();
    const second = Array.from({ length: 10 }, () => trigger());
    for (const e of second) await enqueue(f.pool, { topic: 'retrainingTriggers', event: e });
    await until('the other replica to publish the next 10', () => second.every((e) => seen.has(e.id)), () => seen.size);
    expect(follower.isLeader()).toBe(true);
    expect(await metricValue(followerMetrics, 'flywheel_outbox_published_total')).toBe(10);
    expect(second.map((e) => seen.get(e.id))).toEqual(second.map(() => 1));
  });

  it('keeps rows while the broker is unreachable, counts the backlog and the failures, and drains once it is back', async () => {
    const f = await fixture('down');
    const down = f.newBus({ brokers: ['127.0.0.1:1'] }); // nothing listens on port 1
    const up = f.newBus();
    let target: OutboxPublisher = down.publisher;
    const switchable: OutboxPublisher = { publishMany: (t, e, o) => target.publishMany(t, e, o) };
    const metrics = createMetricsRegistry('outbox-itest');
    const relay = f.relay(switchable, metrics);
    const events = Array.from({ length: 20 }, () => trigger());
    for (const e of events) await enqueue(f.pool, { topic: 'retrainingTriggers', event: e });
    relay.start();
    await until('a failed publish attempt', async () => (await metricValue(metrics, 'flywheel_outbox_publish_failures_total')) >= 1, () => 'no failure counted', 60_000);
    expect(relay.isLeader()).toBe(true); // a broker outage does not cost the leadership
    expect(await relay.backlog()).toBe(20);
    expect(await metrics.metrics()).toMatch(/flywheel_outbox_backlog\{[^}]*\} 20\n/);
    const first = await f.row(events[0]!.id);
    expect(first?.attempts).toBeGreaterThanOrEqual(1);
    expect(first?.last_error).toBeTruthy();
    expect(first?.poisoned_at).toBeNull(); // an outage is not poison

    const seen = await f.deliveries();
    target = up.publisher; // the broker is back
    await until('the backlog to drain', async () => (await relay.backlog()) === 0, () => 'backlog > 0', 60_000);
    await until('every event to arrive', () => events.every((e) => seen.has(e.id)), () => seen.size);
    expect(events.map((e) => seen.get(e.id))).toEqual(events.map(() => 1));
  }, 120_000);

  it('reads a large backlog through the pending index in id order, whatever the statistics say', async () => {
    const f = await fixture('plan');
    // 40,000 waiting rows of two producers, with fresh statistics: left alone, the planner scans them all and sorts.
    await f.pool.query(
      `INSERT INTO flywheel_outbox (event_id, topic, key, event)
       SELECT 'e' || g, 'feedback', 'm', jsonb_build_object('source', CASE WHEN g % 4 = 0 THEN '/other' ELSE '/flywheel/feedback-ingest' END, 'pad', repeat('x', 300))
       FROM generate_series(1, 40000) g`,
    );
    await f.pool.query('ANALYZE flywheel_outbox');
    const q = pendingRowsQuery('/flywheel/feedback-ingest', 500);
    const c = await f.pool.connect();
    try {
      const plan = await inIdOrder(c, () => c.query(`EXPLAIN (FORMAT JSON) ${q.text}`, q.values));
      const nodes: { 'Node Type': string; 'Index Name'?: string }[] = [];
      const walk = (n: { 'Node Type': string; 'Index Name'?: string; Plans?: unknown[] }): void => {
        nodes.push(n);
        for (const child of n.Plans ?? []) walk(child as typeof n);
      };
      walk((plan.rows[0] as { 'QUERY PLAN': [{ Plan: Parameters<typeof walk>[0] }] })['QUERY PLAN'][0].Plan);
      expect(nodes.map((n) => n['Node Type'])).toEqual(['Limit', 'Index Scan']);
      expect(nodes[1]?.['Index Name']).toBe('flywheel_outbox_pending');
      // The settings end with the read's transaction: the pooled session is back to its defaults.
      expect((await c.query('SHOW enable_seqscan')).rows[0]).toEqual({ enable_seqscan: 'on' });
      const rows = (await inIdOrder(c, () => c.query<{ id: string }>(q.text, q.values))).rows;
      expect(rows).toHaveLength(500);
      expect(rows.map((r) => Number(r.id))).toEqual([...rows.map((r) => Number(r.id))].sort((a, b) => a - b));
    } finally {
      c.release();
    }
  });

  it('prunes published rows older than the retention, in batches, and keeps the rest', async () => {
    const f = await fixture('prune');
    const [old1, old2, old3, recent, pending, poisoned] = Array.from({ length: 6 }, () => trigger());
    for (const e of [old1, old2, old3, recent, pending, poisoned]) await enqueue(f.pool, { topic: 'retrainingTriggers', event: e! });
    await f.pool.query(`UPDATE flywheel_outbox SET published_at = now() - interval '8 days' WHERE event_id = ANY($1)`, [[old1!.id, old2!.id, old3!.id]]);
    await f.pool.query(`UPDATE flywheel_outbox SET published_at = now() WHERE event_id = $1`, [recent!.id]);
    await f.pool.query(`UPDATE flywheel_outbox SET poisoned_at = now() - interval '30 days', last_error = 'x' WHERE event_id = $1`, [poisoned!.id]);
    const relay = f.relay({ publishMany: async () => { throw new Error('this test never publishes'); } });
    expect(await relay.prune({ olderThanMs: 7 * 86_400_000, batchSize: 2 })).toBe(3);
    const left = (await f.pool.query<{ event_id: string }>('SELECT event_id FROM flywheel_outbox ORDER BY id')).rows.map((r) => r.event_id);
    expect(left).toEqual([recent!.id, pending!.id, poisoned!.id]);
    expect(await relay.prune({ olderThanMs: 7 * 86_400_000 })).toBe(0);
  });
});

describe('the outbox at a failpoint (real PostgreSQL and Kafka)', () => {
  it('re-publishes the same event id after a failure between publish and mark (the failpoint)', async () => {
    const f = await fixture('failpoint');
    const relay = f.relay(f.newBus().publisher);
    const seen = await f.deliveries();
    const e = trigger();
    await enqueue(f.pool, { topic: 'retrainingTriggers', event: e });
    armFailpoints('outbox.relay.after-publish=1*throw');
    try {
      relay.start();
      await until('the event to be published twice', () => seen.get(e.id) === 2, () => [...seen]);
      await until('the row to be marked', async () => (await f.row(e.id))?.published_at instanceof Date, () => 'unmarked');
    } finally {
      armFailpoints(undefined);
    }
  });
});
