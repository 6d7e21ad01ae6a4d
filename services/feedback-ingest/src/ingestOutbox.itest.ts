import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventOf, TopicKey } from '@flywheel/contracts';
import type { OutboxPublisher } from '@flywheel/postgres';
import { isolatedPlatform, until, type IsolatedPlatform } from '@flywheel/testing';
import { ADMIN, registerModel, startIngest } from './testPlatform.js';

const cleanups: (() => Promise<unknown>)[] = [];
const platforms: IsolatedPlatform[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  // Not swallowed: a platform that cannot be removed fails the file, naming what it left.
  for (const p of platforms) await p.drop();
});

const start = async (p: IsolatedPlatform, publisher?: OutboxPublisher, replica = 'a') => {
  const ingest = await startIngest(p, { replica, ...(publisher ? { publisher } : {}) });
  cleanups.push(() => ingest.svc.stop());
  await registerModel(ingest, 'relay-model', ['low', 'high']);
  const post = (text: string) =>
    fetch(`${ingest.base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ model: 'relay-model', text, kind: 'thumbs_down' }) });
  return { ...ingest, post };
};

/** Counts every delivery of every event id on the platform's feedback-events topic. */
const countDeliveries = async (p: IsolatedPlatform) => {
  const seen = new Map<string, number>();
  const kafka = new Kafka({ brokers: p.brokers, clientId: `count-${p.run}`, logLevel: logLevel.NOTHING });
  const c = kafka.consumer({ groupId: `count-${p.run}-${randomUUID().slice(0, 4)}` });
  await c.connect();
  await c.subscribe({ topic: `${p.topicPrefix}feedback-events`, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => {
    const id = (JSON.parse(message.value?.toString() ?? '{}') as { id?: string }).id ?? '?';
    seen.set(id, (seen.get(id) ?? 0) + 1);
  } });
  cleanups.push(() => c.disconnect());
  return seen;
};

describe('feedback-ingest on the shared outbox', () => {
  it('keeps accepting while Kafka is unreachable, counts the backlog, and drains it when Kafka returns, losing nothing', async () => {
    const p = await isolatedPlatform('ingest-relay-down');
    platforms.push(p);
    // The relay first publishes through a bus whose broker does not exist: a Kafka outage.
    const down = p.newBus({ brokers: ['127.0.0.1:1'] });
    const up = p.newBus();
    cleanups.push(() => down.close(), () => up.close());
    let target: OutboxPublisher = down.publisher;
    const publisher: OutboxPublisher = { publishMany: <K extends TopicKey>(t: K, e: readonly EventOf<K>[], o?: { key?: (e: EventOf<K>) => string }) => target.publishMany(t, e, o) };
    const { svc, relay, post } = await start(p, publisher);

    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await post(`while down ${i}`);
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { feedbackId: string }).feedbackId);
    }
    expect(await relay.backlog()).toBe(40);
    expect(await svc.metrics.metrics()).toMatch(/flywheel_outbox_backlog\{[^}]*\} 40/);
    await until('a failed publish attempt to be counted', async () => /flywheel_outbox_publish_failures_total\{[^}]*\} [1-9]/.test(await svc.metrics.metrics()), 30_000);
    expect(await relay.backlog()).toBe(40);

    target = up.publisher; // Kafka is back.
    const seen = await countDeliveries(p);
    await until('the backlog to drain', async () => (await relay.backlog()) === 0, 45_000);
    await until('every event to arrive', () => ids.every((id) => seen.has(id)), 20_000);
    expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
  }, 90_000);

  it('publishes each row once with two replicas relaying the same outbox', async () => {
    const p = await isolatedPlatform('ingest-relay-two');
    platforms.push(p);
    const a = await start(p);
    const b = await start(p, undefined, 'b');
    const seen = await countDeliveries(p);
    const ids: string[] = [];
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const r = await (i % 2 ? a : b).post(`two replicas ${i}`);
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { feedbackId: string }).feedbackId);
    }));
    await until('every event to arrive', () => ids.every((id) => seen.has(id)), 30_000);
    await until('the outbox to be marked published', async () => (await a.relay.backlog()) === 0, 30_000);
    expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
    expect(seen.size).toBe(100);
    expect([a.relay.isLeader(), b.relay.isLeader()].filter(Boolean)).toHaveLength(1);
  }, 60_000);
});
