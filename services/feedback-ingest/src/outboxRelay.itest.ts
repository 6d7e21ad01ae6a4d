import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventOf, TopicKey } from '@flywheel/contracts';
import { listen } from '@flywheel/http';
import { RedisLocks } from '@flywheel/redis';
import { createMetricsRegistry } from '@flywheel/runtime';
import { createIngestService, type IngestService } from './createIngestService.js';
import type { OutboxPublisher } from './outboxRelay.js';
import { createRuleBook, RuleEnv } from '@flywheel/contracts';
import { isolatedPlatform, until } from '@flywheel/testing';

const cleanups: (() => Promise<unknown>)[] = [];
const platforms: Platform[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  // Not swallowed: a platform that cannot be removed fails the file, naming what it left.
  for (const p of platforms) await p.drop();
});

type Platform = Awaited<ReturnType<typeof isolatedPlatform>>;
const startIngest = async (p: Platform, relayPublisher?: OutboxPublisher, replica = 'a') => {
  const bus = p.newBus();
  const metrics = createMetricsRegistry('feedback-ingest');
  const svc: IngestService = createIngestService({
    pool: p.pool, schema: p.schema, bus, ...(relayPublisher ? { relayPublisher } : {}), locks: new RedisLocks(p.redis, p.redisPrefix), logger: p.logger, metrics,
    rulesFor: createRuleBook(RuleEnv.parse({})), adminToken: 'admin-token-0123456789', lockTtlMs: 60_000, relayIdlePollMs: 50, group: `ingest-${p.run}-${replica}`, // own group per replica: this test is about the relay, not about consumer rebalances
  });
  await svc.start();
  const s = await listen(svc.app, 0, '127.0.0.1');
  cleanups.push(() => bus.close(), () => svc.stop(), () => s.close());
  const post = (text: string) =>
    fetch(`http://127.0.0.1:${s.port}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'relay-model', text, kind: 'thumbs_down' }) });
  return { svc, metrics, post };
};

/** Counts every delivery of every event id on the platform's feedback-events topic. */
const countDeliveries = async (p: Platform) => {
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

describe('the outbox relay', () => {
  it('keeps accepting while Kafka is unreachable, counts the backlog, and drains it when Kafka returns, losing nothing', async () => {
    const p = await isolatedPlatform('relay-down');
    platforms.push(p);
    // The relay first publishes through a bus whose broker does not exist: a Kafka outage.
    const down = p.newBus({ brokers: ['127.0.0.1:1'] });
    const up = p.newBus();
    cleanups.push(() => down.close(), () => up.close());
    let target: OutboxPublisher = down.publisher;
    const publisher: OutboxPublisher = { publishMany: <K extends TopicKey>(t: K, e: readonly EventOf<K>[]) => target.publishMany(t, e) };
    const { svc, metrics, post } = await startIngest(p, publisher);

    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await post(`while down ${i}`);
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { feedbackId: string }).feedbackId);
    }
    expect(await svc.relay.backlog()).toBe(40);
    expect(await metrics.metrics()).toMatch(/flywheel_ingest_outbox_backlog\{[^}]*\} 40/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await svc.relay.backlog()).toBe(40);

    target = up.publisher; // Kafka is back.
    const seen = await countDeliveries(p);
    await until('the backlog to drain', async () => (await svc.relay.backlog()) === 0, 45_000);
    await until('every event to arrive', () => ids.every((id) => seen.has(id)), 20_000);
    expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
    expect(await metrics.metrics()).toMatch(/flywheel_ingest_outbox_publish_failures_total\{[^}]*\} [1-9]/);
  }, 90_000);

  it('publishes each row once with two replicas relaying the same outbox', async () => {
    const p = await isolatedPlatform('relay-two');
    platforms.push(p);
    const a = await startIngest(p);
    const b = await startIngest(p, undefined, 'b');
    const seen = await countDeliveries(p);
    const ids: string[] = [];
    await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const r = await (i % 2 ? a : b).post(`two replicas ${i}`);
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as { feedbackId: string }).feedbackId);
    }));
    await until('every event to arrive', () => ids.every((id) => seen.has(id)), 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(ids.map((id) => seen.get(id))).toEqual(ids.map(() => 1));
    expect(seen.size).toBe(100);
    expect([a.svc.relay.isLeader(), b.svc.relay.isLeader()].filter(Boolean)).toHaveLength(1);
  }, 60_000);
});
