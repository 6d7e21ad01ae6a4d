import type { RoutingTable } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { createPredictor } from './createPredictor.js';
import { ModelHost } from './ModelHost.js';
import type { LoadedVersion } from './modelSnapshot.js';
import type { PredictionRecord } from './PredictionLog.js';
import type { Classifier, RawScores } from './ports.js';
import { ShadowScorer, type ShadowJob } from './ShadowScorer.js';
import { FakeClassifier, FakeEngine, FakeRouting, FakeSource, quietLogger, table, testMetrics } from './testing/fakes.js';

/** A shadow whose inference never settles (a hung model). */
class HungClassifier implements Classifier {
  readonly labels = ['alpha', 'beta', 'gamma'] as const;
  calls = 0;
  constructor(readonly version: string) {}
  predictRaw(): Promise<RawScores> {
    this.calls++;
    return new Promise<RawScores>(() => undefined);
  }
}

/** Answers label index 1 ("beta") for every row, unlike FakeClassifier's "alpha". */
class BetaClassifier extends FakeClassifier {
  override async predictRaw(texts: readonly string[]): Promise<RawScores> {
    const raw = await super.predictRaw(texts);
    return { ...raw, labelIndex: new Int32Array(texts.length).fill(1), confidence: new Float32Array(texts.length).fill(0.6) };
  }
}

const loaded = (classifier: Classifier): LoadedVersion =>
  ({ model: 'm', version: classifier.version, baseVersion: 'b1', classifier, labels: classifier.labels, loadedAt: new Date(), inFlight: 0 });
const record = (i: number): PredictionRecord => ({
  model: 'm', predictionId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, modelVersion: '1.0.0', variant: 'champion',
  subjectId: undefined, experimentId: undefined, text: `text ${i}`, label: 'alpha', confidence: 0.9, topK: undefined, latencyMs: 1, time: 0,
});
const counter = async (registry: ReturnType<typeof testMetrics>['registry'], name: string, labels: Record<string, string>): Promise<number> => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
};

const setup = (opts: { capacity?: number; timeoutMs?: number } = {}) => {
  const { registry, metrics } = testMetrics();
  const logged: PredictionRecord[] = [];
  const scorer = new ShadowScorer({ recorder: { record: (r) => logged.push(r) }, metrics, logger: quietLogger(), ...opts });
  return { registry, metrics, logged, scorer };
};

describe('ShadowScorer', () => {
  it('logs each answer with the shadow version\'s label for the same text, off the request path', async () => {
    const { logged, scorer, registry } = setup();
    const shadow = loaded(new BetaClassifier('1.0.1'));
    scorer.offer({ model: 'm', shadow, experimentId: '11111111-1111-4111-8111-111111111111', records: [record(1), record(2)] });
    expect(logged).toHaveLength(0); // nothing ran inside offer()
    await scorer.idle();
    expect(logged.map((r) => r.shadow)).toEqual([
      { modelVersion: '1.0.1', label: 'beta', confidence: expect.closeTo(0.6, 5) as unknown as number, experimentId: '11111111-1111-4111-8111-111111111111' },
      { modelVersion: '1.0.1', label: 'beta', confidence: expect.closeTo(0.6, 5) as unknown as number, experimentId: '11111111-1111-4111-8111-111111111111' },
    ]);
    expect(logged.map((r) => r.label)).toEqual(['alpha', 'alpha']); // the answer that was sent is unchanged
    expect(shadow.inFlight).toBe(0);
    expect(await counter(registry, 'flywheel_serving_shadow_scored_total', { model: 'm' })).toBe(2);
  });

  it('drops a job that does not fit the bounded queue, logs its answers without a shadow label and counts it', async () => {
    const { logged, scorer, registry } = setup({ capacity: 2, timeoutMs: 1 });
    const shadow = loaded(new HungClassifier('1.0.1'));
    const jobs: ShadowJob[] = [1, 2, 3].map((i) => ({ model: 'm', shadow, experimentId: undefined, records: [record(i)] }));
    for (const j of jobs) scorer.offer(j);
    // The third did not fit (two rows wait): logged at once, as answered.
    expect(logged.map((r) => r.predictionId)).toEqual([record(3).predictionId]);
    expect(logged[0]?.shadow).toBeUndefined();
    expect(await counter(registry, 'flywheel_serving_shadow_dropped_total', { model: 'm', reason: 'queue_full' })).toBe(1);
    await scorer.idle();
    // The hung shadow was given up: every answer is still logged exactly once, none with a shadow label.
    expect(logged.map((r) => r.predictionId).sort()).toEqual([1, 2, 3].map((i) => record(i).predictionId).sort());
    expect(logged.every((r) => r.shadow === undefined)).toBe(true);
    expect(await counter(registry, 'flywheel_serving_shadow_dropped_total', { model: 'm', reason: 'timeout' })).toBe(2);
  });

  it('logs the answers without a shadow label when the shadow inference fails', async () => {
    const { logged, scorer, registry } = setup();
    const broken: Classifier = { version: '1.0.1', labels: ['alpha'], predictRaw: async () => { throw new Error('session lost'); } };
    scorer.offer({ model: 'm', shadow: loaded(broken), experimentId: undefined, records: [record(1)] });
    await scorer.idle();
    expect(logged).toHaveLength(1);
    expect(logged[0]?.shadow).toBeUndefined();
    expect(await counter(registry, 'flywheel_serving_shadow_dropped_total', { model: 'm', reason: 'failed' })).toBe(1);
  });
});

describe('predictor with a shadow version in the routing table', () => {
  const hostWith = async (routing: RoutingTable) => {
    const { registry, metrics } = testMetrics();
    const engine = new FakeEngine();
    const store = new FakeRouting();
    store.table = routing;
    const host = new ModelHost({ source: new FakeSource(), engine, routing: store, metrics, logger: quietLogger() });
    await host.start('m');
    return { host, engine, registry, metrics };
  };

  it('answers with the champion without waiting for a shadow that never answers', async () => {
    const { host, metrics } = await hostWith({ ...table({ champion: '1.0.0', revision: 2 }), shadow: '1.0.1' } as RoutingTable);
    const snapshot = host.snapshot('m');
    expect(snapshot?.shadow?.version).toBe('1.0.1');
    // Swap the loaded shadow's classifier for one that hangs forever.
    const hung = new HungClassifier('1.0.1');
    Object.assign(snapshot?.shadow ?? {}, { classifier: hung });
    const logged: PredictionRecord[] = [];
    const offered: ShadowJob[] = [];
    const scorer = new ShadowScorer({ recorder: { record: (r) => logged.push(r) }, metrics, logger: quietLogger(), timeoutMs: 60_000 });
    const predict = createPredictor({ host, recorder: { record: (r) => logged.push(r) }, metrics, shadow: { offer: (j) => { offered.push(j); scorer.offer(j); } } });

    const [answer] = await predict('m', [{ text: 'hello' }]);
    expect(answer).toMatchObject({ modelVersion: '1.0.0', variant: 'champion', label: 'alpha' });
    expect(offered).toHaveLength(1);
    expect(offered[0]?.records[0]?.predictionId).toBe(answer?.predictionId);
    // The answer came back while the shadow is still (forever) scoring it.
    await new Promise((r) => setImmediate(r));
    expect(hung.calls).toBe(1);
    expect(logged).toHaveLength(0);
    expect(scorer.pending).toBe(0);
  });

  it('logs answers directly when the table names no shadow', async () => {
    const { host, metrics } = await hostWith(table({ champion: '1.0.0', revision: 2 }));
    const logged: PredictionRecord[] = [];
    const offered: ShadowJob[] = [];
    const predict = createPredictor({ host, recorder: { record: (r) => logged.push(r) }, metrics, shadow: { offer: (j) => offered.push(j) } });
    await predict('m', [{ text: 'a' }, { text: 'b' }]);
    expect(offered).toHaveLength(0);
    expect(logged).toHaveLength(2);
  });

  it('keeps the shadow version loaded while the table names it and releases it when a newer table drops it', async () => {
    const { host } = await hostWith({ ...table({ champion: '1.0.0', revision: 2 }), shadow: '1.0.1' } as RoutingTable);
    expect(host.describe('m')?.shadow?.version).toBe('1.0.1');
    await host.apply('m', { action: 'routing_changed', routing: table({ champion: '1.0.0', revision: 3 }) });
    expect(host.snapshot('m')?.shadow).toBeUndefined();
  });
});
