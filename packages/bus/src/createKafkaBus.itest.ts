import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLetterHeaders, FLYWHEEL_SOURCES, makeEvent, type DataOf, type EventOf, type TopicKey } from '@flywheel/contracts';
import { createLogger, createMetricsRegistry, DependencyDown } from '@flywheel/runtime';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { createKafkaBus } from './index.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: run `bash scripts/platform.sh up` and source .flywheel/platform.env');
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const logger = createLogger({ service: 'bus-itest', level: 'silent' });
const run = randomUUID().slice(0, 8);

const newBus = (prefix: string, metrics = createMetricsRegistry('itest')) =>
  createKafkaBus({ brokers, clientId: `itest-${run}`, logger, metrics, dedupe: new RedisDedupe(redis, { prefix: `itest-${run}`, ttlSeconds: 600 }), topicPrefix: prefix });

const until = async (cond: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 50));
  }
};

const samples: { [K in TopicKey]: DataOf<K> } = {
  feedback: { feedbackId: randomUUID() as never, text: 'late parcel', kind: 'misclassification', predictedLabel: 'low', correctLabel: 'high' },
  predictions: { predictionId: randomUUID() as never, modelVersion: '1.0.0' as never, variant: 'champion', text: 'hi', label: 'low', confidence: 0.9, latencyMs: 1 },
  retrainingTriggers: { reason: 'threshold', details: { pending: 50 }, requestedBy: 'aggregator', fencingToken: 7 as never },
  trainingStatus: { jobId: randomUUID() as never, state: 'running', progress: 0.5 },
  modelUpdates: { action: 'rejected', version: '1.0.1' as never, reason: 'gate: accuracy' },
  driftReports: { modelVersion: '1.0.0' as never, windowStart: new Date().toISOString(), windowEnd: new Date().toISOString(), predictions: 10, labelled: 0, measurements: [], level: 'none', triggeredRetraining: false },
};

/** A source each topic trusts (the bus refuses events from anyone but a topic's owners). */
const owner: { [K in TopicKey]: string } = {
  feedback: FLYWHEEL_SOURCES.feedbackIngest,
  predictions: `${FLYWHEEL_SOURCES.serving}/itest-host`,
  retrainingTriggers: FLYWHEEL_SOURCES.aggregator,
  trainingStatus: FLYWHEEL_SOURCES.trainer,
  modelUpdates: FLYWHEEL_SOURCES.abRouter,
  driftReports: FLYWHEEL_SOURCES.driftMonitor,
};

/** Every record of a dead-letter topic, read from the start by a fresh group until `done` holds. */
const readDeadLetters = async (topic: string, done: (rs: { key: string; value: string; reason: string; errorClass: string }[]) => boolean) => {
  const raw = new Kafka({ brokers, clientId: 'raw-dlq', logLevel: logLevel.NOTHING });
  const rs: { key: string; value: string; reason: string; errorClass: string }[] = [];
  const c = raw.consumer({ groupId: `dlq-${randomUUID()}` });
  await c.connect();
  try {
    await c.subscribe({ topic, fromBeginning: true });
    await c.run({
      eachMessage: async ({ message }) => {
        rs.push({
          key: message.key?.toString() ?? '', value: message.value?.toString() ?? '',
          reason: message.headers?.[deadLetterHeaders.reason]?.toString() ?? '', errorClass: message.headers?.[deadLetterHeaders.errorClass]?.toString() ?? '',
        });
      },
    });
    const end = Date.now() + 20_000;
    while (!done(rs)) {
      if (Date.now() > end) throw new Error(`timed out reading ${topic}: have ${JSON.stringify(rs)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return rs;
  } finally {
    await c.disconnect();
  }
};

const buses: { close(): Promise<void> }[] = [];
afterAll(async () => {
  try {
    for (const b of buses) await b.close();
  } finally {
    // The dedupe keys of this run (topics stay: the local mock broker cannot delete them, and each test has its own prefix).
    const keys = await redis.keys(`itest-${run}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }
});

// Each test has its own topic prefix and groups, so they run together: most of each is waiting
// for the broker (joins, session timeouts), not work.
describe.concurrent('the bus against a Kafka-protocol broker', () => {
  it('publishes and consumes an event of every topic', async () => {
    const bus = newBus(`t1-${run}-`);
    buses.push(bus);
    const got = new Map<string, unknown>();
    const handlers = Object.fromEntries(
      (Object.keys(samples) as TopicKey[]).map((k) => [k, async (e: EventOf<TopicKey>) => { got.set(k, e.data); }]),
    );
    await bus.consume(`g1-${run}`, handlers);
    for (const k of Object.keys(samples) as TopicKey[]) {
      await bus.publisher.publish(k, makeEvent(k, { source: owner[k], subject: 'demo-model', data: samples[k] as never }));
    }
    await until(() => got.size === 6);
    expect(got.get('retrainingTriggers')).toMatchObject({ reason: 'threshold', fencingToken: 7 });
  });

  it('processes a duplicate delivery once, dead-letters a poison message with its reason, and keeps the partition moving', async () => {
    const prefix = `t2-${run}-`;
    const metrics = createMetricsRegistry('itest');
    const bus = newBus(prefix, metrics);
    buses.push(bus);
    const seen: string[] = [];
    await bus.consume(`g2-${run}`, { retrainingTriggers: async (e) => { seen.push(e.id); } });
    const e1 = makeEvent('retrainingTriggers', { source: owner.retrainingTriggers, subject: 'm', data: samples.retrainingTriggers });
    const e2 = makeEvent('retrainingTriggers', { source: owner.retrainingTriggers, subject: 'm', data: samples.retrainingTriggers });
    await bus.publisher.publish('retrainingTriggers', e1);
    await bus.publisher.publish('retrainingTriggers', e1);
    // An outside producer writes garbage to the same partition (same key).
    const raw = new Kafka({ brokers, clientId: 'raw', logLevel: logLevel.NOTHING });
    const p = raw.producer();
    await p.connect();
    await p.send({ topic: `${prefix}retraining-triggers`, messages: [{ key: 'm', value: '{"specversion":"1.0","data":{}}' }] });
    await p.disconnect();
    await bus.publisher.publish('retrainingTriggers', e2);
    await until(() => seen.includes(e2.id));
    expect(seen.filter((x) => x === e1.id)).toHaveLength(1);

    const dlq: { value: string; reason: string }[] = [];
    const c = raw.consumer({ groupId: `dlq-${run}` });
    await c.connect();
    await c.subscribe({ topic: `${prefix}retraining-triggers.dlq`, fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => { dlq.push({ value: message.value?.toString() ?? '', reason: message.headers?.[deadLetterHeaders.reason]?.toString() ?? '' }); } });
    await until(() => dlq.length === 1);
    await c.disconnect();
    expect(dlq[0]?.value).toBe('{"specversion":"1.0","data":{}}');
    expect(dlq[0]?.reason).toMatch(/schema validation failed: id: Required/);
    // Every delivered message was counted in a batch, and each batch with ids waited on the dedupe lookup.
    const text = await metrics.metrics();
    const sample = (name: string) => Number(new RegExp(`^${name}\\{[^}]*group="g2-${run}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(sample('flywheel_bus_batch_messages_sum')).toBe(4);
    const batches = sample('flywheel_bus_batch_messages_count');
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(sample('flywheel_bus_dedupe_wait_seconds_count')).toBe(batches);
  });

  it('skips the processed-ids store for idempotent handlers: no lookup, no mark, and it cannot hold them up', async () => {
    const prefix = `t7-${run}-`;
    // A store that is down: a consumer that consulted it would never hand an event over.
    const calls: string[] = [];
    const down = { seen: async () => { calls.push('seen'); throw new Error('dedupe store down'); }, mark: async () => { calls.push('mark'); throw new Error('dedupe store down'); } };
    const bus = createKafkaBus({ brokers, clientId: `itest-${run}`, logger, metrics: createMetricsRegistry('itest'), dedupe: down, topicPrefix: prefix });
    buses.push(bus);
    const handled: string[] = [];
    await bus.consume(`g7-${run}`, { retrainingTriggers: async (e) => { handled.push(e.id); } }, { idempotentHandlers: true });
    const events = [1, 2, 3].map(() => makeEvent('retrainingTriggers', { source: owner.retrainingTriggers, subject: 'm', data: samples.retrainingTriggers }));
    await bus.publisher.publishMany('retrainingTriggers', events);
    await until(() => events.every((e) => handled.includes(e.id)));
    expect(calls).toEqual([]);
  });

  it('retries a retriable failure without committing, then succeeds', async () => {
    const bus = newBus(`t3-${run}-`);
    buses.push(bus);
    let calls = 0;
    let done = false;
    await bus.consume(`g3-${run}`, {
      trainingStatus: async () => {
        calls++;
        if (calls < 3) throw new DependencyDown('postgres is down');
        done = true;
      },
    }, { maxBackoffMs: 100 });
    await bus.publisher.publish('trainingStatus', makeEvent('trainingStatus', { source: owner.trainingStatus, subject: 'm', data: samples.trainingStatus }));
    await until(() => done);
    expect(calls).toBe(3);
  });

  it('loses nothing when a consumer dies mid-batch and another takes over', async () => {
    const prefix = `t4-${run}-`;
    const bus = newBus(prefix);
    buses.push(bus);
    const events = Array.from({ length: 200 }, (_, i) => makeEvent('feedback', { source: owner.feedback, subject: `m${i % 8}`, data: { ...samples.feedback, feedbackId: randomUUID() as never } }));
    await bus.publisher.publishMany('feedback', events);
    const handled = new Set<string>();
    let first = 0;
    const c1 = await bus.consume(`g4-${run}`, {
      feedback: async (e) => {
        first++;
        if (first === 50) { void c1Stop(); throw new DependencyDown('killed mid-batch'); }
        handled.add(e.id);
      },
    }, { maxBackoffMs: 50 });
    const c1Stop = () => c1.stop();
    await until(() => first >= 50);
    await c1.stop().catch(() => {});
    const bus2 = newBus(prefix);
    buses.push(bus2);
    await bus2.consume(`g4-${run}`, { feedback: async (e) => { handled.add(e.id); } });
    await until(() => handled.size === 200, 30_000);
    expect([...handled].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('dead-letters forged control events with their reason and hands only the genuine one to the handler', async () => {
    const prefix = `t5-${run}-`;
    const bus = newBus(prefix);
    buses.push(bus);
    const seen: string[] = [];
    await bus.consume(`g5-${run}`, {
      retrainingTriggers: async (e) => { seen.push(e.id); },
      modelUpdates: async (e) => { seen.push(e.id); },
    });
    const trigger = (source: string, fencingToken: number) => makeEvent('retrainingTriggers', { source, subject: 'm', data: { ...samples.retrainingTriggers, fencingToken: fencingToken as never } });
    const routing = (revision: number) => makeEvent('modelUpdates', {
      source: owner.modelUpdates, subject: 'm',
      data: { action: 'routing_changed', routing: { champion: '1.0.0' as never, challengerShareBps: 0, salt: 's', revision } },
    });
    const fromEvil = trigger('/evil', 7);
    const hugeToken = trigger(owner.retrainingTriggers, Number.MAX_SAFE_INTEGER);
    const genuine = trigger(owner.retrainingTriggers, 7);
    const hugeRevision = routing(Number.MAX_SAFE_INTEGER);
    const genuineRouting = routing(3);
    // The attacker writes straight to Kafka, as any client of an open broker could.
    const raw = new Kafka({ brokers, clientId: 'raw-forger', logLevel: logLevel.NOTHING });
    const p = raw.producer();
    await p.connect();
    await p.send({ topic: `${prefix}retraining-triggers`, messages: [fromEvil, hugeToken, genuine].map((e) => ({ key: 'm', value: JSON.stringify(e) })) });
    await p.send({ topic: `${prefix}model-updates`, messages: [hugeRevision, genuineRouting].map((e) => ({ key: 'm', value: JSON.stringify(e) })) });
    await p.disconnect();

    await until(() => seen.includes(genuine.id) && seen.includes(genuineRouting.id));
    const triggers = await readDeadLetters(`${prefix}retraining-triggers.dlq`, (rs) => rs.length >= 2);
    const updates = await readDeadLetters(`${prefix}model-updates.dlq`, (rs) => rs.length >= 1);
    expect(seen.sort()).toEqual([genuine.id, genuineRouting.id].sort());
    const byId = (rs: { value: string }[], id: string) => rs.find((r) => (JSON.parse(r.value) as { id: string }).id === id);
    expect(byId(triggers, fromEvil.id)).toMatchObject({ errorClass: 'UntrustedEvent', reason: expect.stringMatching(/source "\/evil" may not publish on retraining-triggers/) });
    expect(byId(triggers, hugeToken.id)).toMatchObject({ errorClass: 'UntrustedEvent', reason: expect.stringMatching(/fencing token 9007199254740991 is beyond the sane bound/) });
    expect(byId(updates, hugeRevision.id)).toMatchObject({ errorClass: 'UntrustedEvent', reason: expect.stringMatching(/routing revision 9007199254740991 is beyond the sane bound/) });
    expect(triggers).toHaveLength(2);
    expect(updates).toHaveLength(1);
  });
  it('replaces a consumer that shows no sign of life (a handler awaiting forever), and the event is handled by the new one', async () => {
    const metrics = createMetricsRegistry('itest');
    const bus = createKafkaBus({
      brokers, clientId: `itest-${run}`, logger, metrics, dedupe: new RedisDedupe(redis, { prefix: `itest-${run}`, ttlSeconds: 600 }),
      topicPrefix: `t-stall-${run}-`, sessionTimeoutMs: 6_000, rebalanceTimeoutMs: 10_000,
    });
    buses.push(bus);
    let calls = 0;
    let handled = false;
    let release: () => void = () => {};
    await bus.consume(`g-stall-${run}`, {
      trainingStatus: async () => {
        calls++;
        // The first delivery hangs (as a stuck join or a lost query would); the redelivery succeeds.
        if (calls === 1) await new Promise<void>((r) => { release = r; });
        else handled = true;
      },
    }, { stallAfterMs: 3_000 });
    await bus.publisher.publish('trainingStatus', makeEvent('trainingStatus', { source: owner.trainingStatus, subject: 'm', data: samples.trainingStatus }));
    await until(() => handled, 90_000);
    release(); // lets the stalled consumer's disconnect finish
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(await metrics.metrics()).toMatch(/flywheel_bus_consumer_stalls_total\{[^}]*group="g-stall-[^"]*"[^}]*\} [1-9]/);
  }, 120_000);
});
