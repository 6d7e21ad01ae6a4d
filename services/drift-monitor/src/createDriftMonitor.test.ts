import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Publisher } from '@flywheel/bus';
import { makeEvent, ModelVersion, type DriftReported, type EventOf } from '@flywheel/contracts';
import { createLogger } from '@flywheel/runtime';
import { mulberry32 } from '@flywheel/stats';
import { createDriftMonitor } from './createDriftMonitor.js';
import { createDriftMetrics } from './driftMetrics.js';
import type { LabelledText } from './textReference.js';
import type { TrainingSnapshots } from './TrainingSnapshots.js';

const words = (prefix: string): string[] => Array.from({ length: 300 }, (_, i) => `${prefix}${i.toString(36)}`);
const LABELS = ['a', 'b', 'c'];
const rowsFrom = (seed: number, vocab: readonly string[]) => {
  const rng = mulberry32(seed);
  return (): LabelledText => ({
    text: Array.from({ length: 4 + Math.floor(rng() * 11) }, () => vocab[Math.floor(vocab.length * rng() ** 2)]!).join(' '),
    label: LABELS[Math.floor(rng() * LABELS.length)]!,
  });
};

/** Fake registry: champion per model and snapshots per version (our own port, not a store). */
class FakeSnapshots implements TrainingSnapshots {
  readonly championOf = new Map<string, string>();
  readonly rowsOf = new Map<string, LabelledText[]>();
  reads = 0;
  async champions() {
    return [...this.championOf].map(([model, version]) => ({ model, version }));
  }
  async champion(model: string) {
    return this.championOf.get(model);
  }
  async rows(model: string, version: string) {
    this.reads++;
    return this.rowsOf.get(`${model}@${version}`);
  }
}

const setup = (snapshots: TrainingSnapshots | undefined, referenceSize = 100, metricsRegistry = new Registry()) => {
  const reports: DriftReported[] = [];
  const publisher: Publisher = {
    publish: async (topic, event) => {
      if (topic === 'driftReports') reports.push((event as EventOf<'driftReports'>).data);
    },
    publishMany: async () => {},
  };
  const monitor = createDriftMonitor({
    publisher, trigger: { fire: async () => ({ triggered: false, why: 'cooldown' }) },
    logger: createLogger({ service: 'drift-unit', level: 'silent' }), metrics: createDriftMetrics(metricsRegistry),
    settings: { referenceSize, windowSize: 100, windowMaxMs: 0, minWindow: 20, buckets: 32, minLabelled: 50, ignoreSubjectPrefixes: ['eval-'] }, source: '/test', snapshots,
  });
  const ctx = { topic: 'predictions', partition: 0, offset: '0', key: undefined };
  const predict = async (model: string, version: string, n: number, next: () => LabelledText, variant: 'champion' | 'challenger' = 'champion', subjectId?: string) => {
    for (let i = 0; i < n; i++) {
      const r = next();
      await monitor.handlers.predictions!(makeEvent('predictions', {
        source: '/test', subject: model,
        data: { predictionId: randomUUID() as never, modelVersion: ModelVersion.parse(version), variant, text: r.text, label: r.label, confidence: 0.9, latencyMs: 1, ...(subjectId ? { subjectId } : {}) },
      }), ctx);
    }
  };
  const update = async (model: string, data: EventOf<'modelUpdates'>['data']) =>
    monitor.handlers.modelUpdates!(makeEvent('modelUpdates', { source: '/test', subject: model, data }), { ...ctx, topic: 'model-updates' });
  return { monitor, reports, predict, update };
};

describe('createDriftMonitor', () => {
  it('uses the champion training snapshot at start: windows are compared from the first prediction on and say so', async () => {
    const snaps = new FakeSnapshots();
    const gen = rowsFrom(1, words('alpha'));
    snaps.championOf.set('m', '1.0.0');
    snaps.rowsOf.set('m@1.0.0', Array.from({ length: 1000 }, gen));
    const { monitor, reports, predict } = setup(snaps);
    await monitor.watchChampions();
    expect(monitor.status('m')).toMatchObject({ version: '1.0.0', reference: 'training_snapshot', referenceReady: true, confidenceReferenceReady: false });
    await predict('m', '1.0.0', 100, rowsFrom(2, words('alpha')));
    expect(reports).toHaveLength(1); // no 100-prediction wait for a reference
    expect(reports[0]).toMatchObject({ reference: 'training_snapshot', modelVersion: '1.0.0', predictions: 100 });
    expect(reports[0]!.level).not.toBe('significant');
    expect(reports[0]!.measurements.some((m) => m.feature === 'confidence')).toBe(false);
    await predict('m', '1.0.0', 100, rowsFrom(3, words('alpha')));
    expect(monitor.status('m')).toMatchObject({ confidenceReferenceReady: true });
    await predict('m', '1.0.0', 100, rowsFrom(4, words('zulu')));
    expect(reports[2]).toMatchObject({ level: 'significant', reference: 'training_snapshot' });
    expect(reports[2]!.measurements.some((m) => m.feature === 'confidence')).toBe(true);
  });

  it('starts a fresh window on promotion, never mixes versions and drops late predictions of the old champion', async () => {
    const snaps = new FakeSnapshots();
    snaps.championOf.set('m', '1.0.0');
    snaps.rowsOf.set('m@1.0.0', Array.from({ length: 1000 }, rowsFrom(5, words('alpha'))));
    // 1.1.0 was trained on the new vocabulary too: its traffic is not drift.
    const both = [...words('alpha'), ...words('zulu')];
    snaps.rowsOf.set('m@1.1.0', Array.from({ length: 1000 }, rowsFrom(6, both)));
    const { monitor, reports, predict, update } = setup(snaps);
    await monitor.watchChampions();
    await predict('m', '1.0.0', 60, rowsFrom(7, words('alpha'))); // a half-full window of the old version
    snaps.championOf.set('m', '1.1.0');
    await update('m', { action: 'promoted', version: ModelVersion.parse('1.1.0'), previous: ModelVersion.parse('1.0.0'), reason: 'test' });
    await monitor.settled();
    expect(monitor.status('m')).toMatchObject({ version: '1.1.0', reference: 'training_snapshot', windowSize: 0, windows: 0 });
    await predict('m', '1.0.0', 80, rowsFrom(8, words('zulu'))); // late predictions of the old champion
    await predict('m', '1.1.0', 50, rowsFrom(9, words('alpha')), 'challenger'); // not the watched slice
    expect(monitor.status('m')).toMatchObject({ windowSize: 0 });
    await predict('m', '1.1.0', 100, rowsFrom(10, both));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ modelVersion: '1.1.0', predictions: 100, reference: 'training_snapshot' });
    expect(reports[0]!.level).not.toBe('significant');
  });

  it('switches on a champion prediction of the registry champion when model-updates lags behind, and back on a rollback', async () => {
    const snaps = new FakeSnapshots();
    snaps.championOf.set('m', '1.0.0');
    snaps.rowsOf.set('m@1.0.0', Array.from({ length: 500 }, rowsFrom(11, words('alpha'))));
    snaps.rowsOf.set('m@2.0.0', Array.from({ length: 500 }, rowsFrom(12, words('alpha'))));
    const { monitor, predict, update } = setup(snaps);
    await monitor.watchChampions();
    await predict('m', '2.0.0', 5, rowsFrom(13, words('alpha'))); // not champion in the registry: dropped
    expect(monitor.status('m')).toMatchObject({ version: '1.0.0', windowSize: 0 });
    snaps.championOf.set('m', '2.0.0');
    await new Promise((r) => setTimeout(r, 0));
    await update('m', { action: 'promoted', version: ModelVersion.parse('2.0.0'), reason: 'bootstrap' });
    await predict('m', '2.0.0', 5, rowsFrom(14, words('alpha')));
    expect(monitor.status('m')).toMatchObject({ version: '2.0.0', windowSize: 5 });
    await update('m', { action: 'rolled_back', version: ModelVersion.parse('1.0.0'), from: ModelVersion.parse('2.0.0'), reason: 'health', automatic: true });
    await predict('m', '2.0.0', 5, rowsFrom(15, words('alpha'))); // the rolled-back version's stragglers
    await predict('m', '1.0.0', 3, rowsFrom(16, words('alpha')));
    expect(monitor.status('m')).toMatchObject({ version: '1.0.0', reference: 'training_snapshot', windowSize: 3 });
  });

  it('falls back to a reference from the first predictions when the snapshot is missing, and says so', async () => {
    const snaps = new FakeSnapshots();
    snaps.championOf.set('m', '1.0.0'); // no rows stored
    const { monitor, reports, predict } = setup(snaps, 100);
    await monitor.watchChampions();
    await predict('m', '1.0.0', 100, rowsFrom(17, words('alpha')));
    expect(reports).toHaveLength(0); // the first 100 predictions are the reference
    expect(monitor.status('m')).toMatchObject({ reference: 'predictions', referenceReady: true });
    await predict('m', '1.0.0', 100, rowsFrom(18, words('alpha')));
    expect(reports[0]).toMatchObject({ reference: 'predictions', predictions: 100 });
    expect(reports[0]!.measurements.some((m) => m.feature === 'confidence')).toBe(true);
  });

  it('leaves evaluation traffic (subjectId eval-…) out of references and windows', async () => {
    const snaps = new FakeSnapshots();
    snaps.championOf.set('m', '1.0.0');
    snaps.rowsOf.set('m@1.0.0', Array.from({ length: 500 }, rowsFrom(19, words('alpha'))));
    const { monitor, predict } = setup(snaps);
    await monitor.watchChampions();
    await predict('m', '1.0.0', 30, rowsFrom(20, words('zulu')), 'champion', 'eval-7');
    expect(monitor.status('m')).toMatchObject({ windowSize: 0, referenceSize: 500 });
    await predict('m', '1.0.0', 3, rowsFrom(21, words('alpha')), 'champion', 'user-7');
    expect(monitor.status('m')).toMatchObject({ windowSize: 3 });
  });

  it('starts with the other models when one champion snapshot is unreadable or unusable, and counts it', async () => {
    const snaps = new FakeSnapshots();
    const alpha = rowsFrom(5, words('alpha'));
    for (const m of ['good', 'unreadable', 'unusable']) snaps.championOf.set(m, '1.0.0');
    snaps.rowsOf.set('good@1.0.0', Array.from({ length: 500 }, alpha));
    snaps.rowsOf.set('unusable@1.0.0', [{ text: null as never, label: 'a' }]); // parsed, but no reference can be built from it
    const rows = snaps.rows.bind(snaps);
    snaps.rows = async (model, version) => {
      if (model === 'unreadable') throw new Error(`models/${model}/${version}/manifest.json is missing from the object store`);
      return rows(model, version);
    };
    const registry = new Registry();
    const { monitor, reports, predict } = setup(snaps, 100, registry);
    await monitor.watchChampions();
    expect(monitor.status('good')).toMatchObject({ reference: 'training_snapshot', referenceReady: true });
    for (const m of ['unreadable', 'unusable']) expect(monitor.status(m)).toMatchObject({ version: '1.0.0', referenceReady: false });
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_drift_snapshot_failures_total\{model="unreadable"\} 1/);
    expect(text).toMatch(/flywheel_drift_snapshot_failures_total\{model="unusable"\} 1/);
    // The broken ones fall back to a reference from predictions; the good one reports from the start.
    await predict('unusable', '1.0.0', 100, rowsFrom(6, words('alpha')));
    expect(monitor.status('unusable')).toMatchObject({ reference: 'predictions', referenceReady: true });
    await predict('good', '1.0.0', 100, rowsFrom(7, words('alpha')));
    expect(reports.map((r) => r.reference)).toEqual(['training_snapshot']);
  });
});
