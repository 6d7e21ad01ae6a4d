import type { EventOf } from '@flywheel/contracts';
import { topics } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { PredictionLog, publisherSink, type PredictionPublisher, type PredictionRecord } from './PredictionLog.js';
import { quietLogger, testMetrics } from './testing/fakes.js';

const rec = (i: number): PredictionRecord => ({
  model: 'm', predictionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, modelVersion: '1.0.0', variant: 'champion',
  subjectId: i % 2 ? `u${i}` : undefined, experimentId: undefined, text: `text ${i}`, label: 'alpha', confidence: 0.9,
  topK: [{ label: 'alpha', probability: 0.9 }], latencyMs: 0.2, time: Date.now(),
});
const sinkOf = (publisher: PredictionPublisher) => publisherSink(publisher, '/t');
const nextTurn = () => new Promise((r) => setImmediate(r));
const dropped = async (registry: { metrics(): Promise<string> }, reason: string) =>
  Number(new RegExp(`flywheel_serving_predictions_dropped_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(await registry.metrics())?.[1] ?? 0);

describe('PredictionLog', () => {
  it('publishes valid prediction envelopes in batches, keyed by model, with the prediction id as event id', async () => {
    const { registry, metrics } = testMetrics();
    const sent: EventOf<'predictions'>[][] = [];
    const log = new PredictionLog({ sink: sinkOf({ publishMany: async (_t, e) => void sent.push([...e]) }), metrics, logger: quietLogger(), flushAt: 10, maxBatch: 10 });
    for (let i = 0; i < 25; i++) log.record(rec(i));
    await log.stop();
    const all = sent.flat();
    expect(all).toHaveLength(25);
    expect(sent.length).toBeGreaterThan(1);
    for (const e of all) expect(topics.predictions.schema.safeParse(e).success).toBe(true);
    expect(all[0]?.id).toBe(rec(0).predictionId);
    expect(all[1]?.data.subjectId).toBe('u1');
    expect(await dropped(registry, 'buffer_full')).toBe(0);
  });

  it('never blocks when Kafka hangs: the buffer stays bounded and counts what it dropped', async () => {
    const { registry, metrics } = testMetrics();
    let calls = 0;
    const log = new PredictionLog({ sink: sinkOf({ publishMany: () => { calls++; return new Promise(() => {}); } }), metrics, logger: quietLogger(), capacity: 100, flushAt: 10, maxBatch: 10 });
    for (let i = 0; i < 1000; i++) log.record(rec(i));
    expect(calls).toBe(0); // nothing is encoded or sent in the recording turn
    expect(log.pending).toBe(100);
    expect(await dropped(registry, 'buffer_full')).toBe(900); // 1000 - 100 held
    await nextTurn();
    expect(calls).toBe(1); // one batch in flight at a time
    for (let i = 0; i < 20; i++) log.record(rec(i));
    expect(log.pending).toBe(100);
    expect(await dropped(registry, 'buffer_full')).toBe(910); // 90 held + 20 new - 10 over capacity
    await log.stop(10);
  });

  it('counts a failed publish as dropped and keeps going', async () => {
    const { registry, metrics } = testMetrics();
    let fail = true;
    const ok: unknown[] = [];
    const log = new PredictionLog({
      sink: sinkOf({ publishMany: async (_t, e) => { if (fail) { fail = false; throw new Error('broker down'); } ok.push(...e); } }),
      metrics, logger: quietLogger(), flushAt: 5, maxBatch: 5,
    });
    for (let i = 0; i < 10; i++) log.record(rec(i));
    await log.stop();
    expect(await dropped(registry, 'publish_failed')).toBe(5);
    expect(ok).toHaveLength(5);
  });

  it('keeps up to maxInFlight batches with the sink and closes it after draining', async () => {
    const { metrics } = testMetrics();
    const waiting: (() => void)[] = [];
    const got: PredictionRecord[] = [];
    let closed = 0;
    const log = new PredictionLog({
      sink: { send: (r) => new Promise<void>((resolve) => waiting.push(() => { got.push(...r); resolve(); })), close: async () => void closed++ },
      metrics, logger: quietLogger(), flushAt: 4, maxBatch: 4, maxInFlight: 2,
    });
    for (let i = 0; i < 20; i++) log.record(rec(i));
    await nextTurn();
    expect(waiting).toHaveLength(2);
    expect(log.pending).toBe(12);
    const stopping = log.stop();
    while (got.length < 20) {
      waiting.shift()?.();
      await nextTurn();
    }
    await stopping;
    expect(got.map((r) => r.predictionId)).toEqual(Array.from({ length: 20 }, (_, i) => rec(i).predictionId));
    expect(closed).toBe(1);
  });

  it('logs when the buffer overflows, so a loss is never silent', async () => {
    const { metrics } = testMetrics();
    const warnings: string[] = [];
    const logger = { ...quietLogger(), warn: (_o: unknown, msg: string) => void warnings.push(msg) } as unknown as ReturnType<typeof quietLogger>;
    const log = new PredictionLog({ sink: { send: () => new Promise<void>(() => {}) }, metrics, logger, capacity: 100, flushAt: 1_000 });
    for (let i = 0; i < 101; i++) log.record(rec(i));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/prediction log is full/);
    await log.stop(10);
  });
});
