import type { EventOf } from '@flywheel/contracts';
import { topics } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { PredictionLog, type PredictionRecord } from './PredictionLog.js';
import { quietLogger, testMetrics } from './testing/fakes.js';

const rec = (i: number): PredictionRecord => ({
  model: 'm', predictionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, modelVersion: '1.0.0', variant: 'champion',
  subjectId: i % 2 ? `u${i}` : undefined, experimentId: undefined, text: `text ${i}`, label: 'alpha', confidence: 0.9,
  topK: [{ label: 'alpha', probability: 0.9 }], latencyMs: 0.2, time: Date.now(),
});
const dropped = async (registry: { metrics(): Promise<string> }, reason: string) =>
  Number(new RegExp(`flywheel_serving_predictions_dropped_total\\{[^}]*reason="${reason}"[^}]*\\} (\\d+)`).exec(await registry.metrics())?.[1] ?? 0);

describe('PredictionLog', () => {
  it('publishes valid prediction envelopes in batches, keyed by model, with the prediction id as event id', async () => {
    const { registry, metrics } = testMetrics();
    const sent: EventOf<'predictions'>[][] = [];
    const log = new PredictionLog({ publisher: { publishMany: async (_t, e) => void sent.push([...e]) }, metrics, logger: quietLogger(), source: '/t', flushAt: 10 });
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
    const log = new PredictionLog({ publisher: { publishMany: () => { calls++; return new Promise(() => {}); } }, metrics, logger: quietLogger(), source: '/t', capacity: 100, flushAt: 10, maxBatch: 10 });
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) log.record(rec(i));
    expect(performance.now() - t0).toBeLessThan(200);
    expect(calls).toBe(1); // one flush in flight at a time
    expect(log.pending).toBe(100);
    expect(await dropped(registry, 'buffer_full')).toBe(890); // 1000 - 10 in flight - 100 held
    await log.stop(10);
  });

  it('counts a failed publish as dropped and keeps going', async () => {
    const { registry, metrics } = testMetrics();
    let fail = true;
    const ok: unknown[] = [];
    const log = new PredictionLog({
      publisher: { publishMany: async (_t, e) => { if (fail) { fail = false; throw new Error('broker down'); } ok.push(...e); } },
      metrics, logger: quietLogger(), source: '/t', flushAt: 5, maxBatch: 5,
    });
    for (let i = 0; i < 10; i++) log.record(rec(i));
    await log.stop();
    expect(await dropped(registry, 'publish_failed')).toBe(5);
    expect(ok).toHaveLength(5);
  });
});
