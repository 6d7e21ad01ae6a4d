import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaBus } from '@flywheel/bus';
import { makeEvent, ModelVersion, type EventOf } from '@flywheel/contracts';
import { createRedis, RedisDedupe, RedisLocks } from '@flywheel/redis';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { mulberry32 } from '@flywheel/stats';
import { retrainLockKey } from './RetrainTrigger.js';
import { startDriftMonitor, type RunningDriftMonitor } from './startDriftMonitor.js';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set: run `bash scripts/platform.sh up` and source .flywheel/platform.env');
const run = randomUUID().slice(0, 8);
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const logger = createLogger({ service: 'drift-itest', level: 'silent' });
const metrics = createMetricsRegistry('drift-itest');
const bus = createKafkaBus({ brokers, clientId: `dm-${run}`, logger, metrics, dedupe: new RedisDedupe(redis, { prefix: `dm-${run}`, ttlSeconds: 600 }), topicPrefix: `dm-${run}-` });
const lockPrefix = `dm-${run}`; // the service uses 'flywheel'; a unique prefix keeps test runs apart
const locks = new RedisLocks(redis, lockPrefix);
const reports: EventOf<'driftReports'>[] = [];
const triggers: EventOf<'retrainingTriggers'>[] = [];
let dm: RunningDriftMonitor;
const WINDOW = 200;

const words = (prefix: string): string[] => Array.from({ length: 400 }, (_, i) => `${prefix}${i.toString(36)}`);
const texts = (seed: number, vocab: readonly string[]) => {
  const rng = mulberry32(seed);
  return (): string => Array.from({ length: 4 + Math.floor(rng() * 11) }, () => vocab[Math.floor(vocab.length * rng() ** 2)]!).join(' ');
};
const send = async (model: string, n: number, next: () => string, seed: number): Promise<void> => {
  const rng = mulberry32(seed);
  await bus.publisher.publishMany('predictions', Array.from({ length: n }, () => makeEvent('predictions', {
    source: '/itest', subject: model,
    data: { predictionId: randomUUID() as never, modelVersion: ModelVersion.parse('1.0.0'), variant: 'champion', text: next(), label: ['a', 'b', 'c'][Math.floor(rng() * 3)]!, confidence: 0.5 + 0.5 * rng(), latencyMs: 2 },
  })));
};
const until = async <T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
const reportsOf = (model: string) => reports.filter((r) => r.subject === model);

beforeAll(async () => {
  dm = await startDriftMonitor({
    redis, bus, logger, metrics, port: 0, adminToken: 'y'.repeat(16), lockPrefix, redisPrefix: `dm-${run}`, consumerGroup: `dm-${run}`,
    lockTtlMs: 60_000, cooldownMs: 60_000,
    settings: { referenceSize: WINDOW, windowSize: WINDOW, windowMaxMs: 0, minWindow: 50, buckets: 32, minLabelled: 50 },
  });
  await bus.consume(`dm-${run}-watch`, {
    driftReports: async (e) => { reports.push(e); },
    retrainingTriggers: async (e) => { triggers.push(e); },
  });
});
afterAll(async () => {
  await dm.close();
  await bus.close();
  await redis.quit();
});

describe('drift-monitor on real Kafka and Redis', () => {
  it('reports a stationary window without triggering, detects a vocabulary shift within one window of 200 events, triggers once through the retraining lock and then respects the cooldown', async () => {
    const model = `dm-${run}-a`;
    const vocabA = words('alpha');
    await send(model, WINDOW, texts(1, vocabA), 1); // reference
    await send(model, WINDOW, texts(2, vocabA), 2); // stationary window
    const first = await until('first report', () => reportsOf(model)[0]);
    expect(first.data).toMatchObject({ modelVersion: '1.0.0', predictions: WINDOW, triggeredRetraining: false });
    expect(first.data.level).not.toBe('significant');
    expect(first.data.measurements.map((m) => `${m.feature}/${m.test}`)).toEqual(expect.arrayContaining(['hashed_tokens/psi', 'text_length/ks', 'oov_rate/psi', 'oov_rate/ks', 'confidence/ks', 'predicted_label/chi_square']));

    await send(model, WINDOW, texts(3, words('zulu')), 3); // vocabulary shift
    const second = await until('second report', () => reportsOf(model)[1]);
    expect(second.data).toMatchObject({ level: 'significant', triggeredRetraining: true });
    const oov = second.data.measurements.find((m) => m.feature === 'oov_rate' && m.test === 'ks');
    expect(oov?.level).toBe('significant');
    expect(oov?.effectSize).toBeGreaterThan(0.5);
    const trigger = await until('retraining trigger', () => triggers.find((t) => t.subject === model));
    expect(trigger.data).toMatchObject({ reason: 'drift', requestedBy: 'drift-monitor' });
    expect(trigger.data.fencingToken).toBe(await locks.holder(retrainLockKey(model)));
    expect(trigger.data.details).toMatchObject({ modelVersion: '1.0.0', oov_rate_ks: oov?.effectSize });

    // The trainer would release the lock; still within the cooldown, the next drifted window does not trigger.
    await locks.release({ key: retrainLockKey(model), token: trigger.data.fencingToken });
    await send(model, WINDOW, texts(4, words('zulu')), 4);
    const third = await until('third report', () => reportsOf(model)[2]);
    expect(third.data).toMatchObject({ level: 'significant', triggeredRetraining: false });
    expect(triggers.filter((t) => t.subject === model)).toHaveLength(1);
    const text = await metrics.metrics();
    expect(text).toMatch(new RegExp(`flywheel_drift_triggers_total\\{model="${model}",service="drift-itest"\\} 1`));
    expect(text).toMatch(new RegExp(`flywheel_drift_level\\{model="${model}",service="drift-itest"\\} 2`));
  });

  it('does not trigger while another source (the aggregator) holds the retraining lock', async () => {
    const model = `dm-${run}-b`;
    const held = await locks.acquire(retrainLockKey(model), 60_000);
    expect(held).toBeDefined();
    await send(model, WINDOW, texts(5, words('alpha')), 5);
    await send(model, WINDOW, texts(6, words('zulu')), 6);
    const report = await until('report', () => reportsOf(model)[0]);
    expect(report.data).toMatchObject({ level: 'significant', triggeredRetraining: false });
    expect(await locks.holder(retrainLockKey(model))).toBe(held?.token);
    expect(triggers.filter((t) => t.subject === model)).toHaveLength(0);
  });
});
