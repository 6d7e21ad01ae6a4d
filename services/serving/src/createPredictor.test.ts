import type { RoutingTable } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { createPredictor, type SnapshotSource } from './createPredictor.js';
import type { LoadedVersion, ModelSnapshot } from './modelSnapshot.js';
import type { PredictionRecord } from './PredictionLog.js';
import { FakeClassifier, table, testMetrics } from './testing/fakes.js';

const EXPERIMENT = '22222222-2222-4222-8222-222222222222';
const loaded = (version: string): LoadedVersion =>
  ({ model: 'm', version, baseVersion: 'b1', classifier: new FakeClassifier(version), labels: ['alpha', 'beta', 'gamma'], loadedAt: new Date(), inFlight: 0 });
const source = (snapshot: ModelSnapshot): SnapshotSource => ({ snapshot: () => snapshot, knows: () => true, models: () => ['m'], loadFailure: () => undefined });
const routed = { ...table({ champion: '1.0.0', challenger: '1.1.0', challengerShareBps: 5000, revision: 2 }), experimentId: EXPERIMENT } as RoutingTable;

describe('createPredictor: which answers count for the experiment', () => {
  const run = async (snapshot: ModelSnapshot): Promise<PredictionRecord[]> => {
    const logged: PredictionRecord[] = [];
    const predict = createPredictor({ host: source(snapshot), recorder: { record: (r) => logged.push(r) }, metrics: testMetrics().metrics });
    await predict('m', Array.from({ length: 40 }, (_, i) => ({ text: `t${i}`, subjectId: `user-${i}` })));
    return logged;
  };

  it('stamps both arms with the experiment while the challenger is loaded and routed', async () => {
    const logged = await run({ model: 'm', champion: loaded('1.0.0'), challenger: loaded('1.1.0'), routing: routed, installedAt: new Date() });
    expect(new Set(logged.map((r) => r.variant))).toEqual(new Set(['champion', 'challenger']));
    expect(logged.every((r) => r.experimentId === EXPERIMENT)).toBe(true);
  });

  it('logs a split request in row order, so any prefix the ab-router has read is a fair sample of the split', async () => {
    const logged = await run({ model: 'm', champion: loaded('1.0.0'), challenger: loaded('1.1.0'), routing: routed, installedAt: new Date() });
    expect(logged.map((r) => r.subjectId)).toEqual(Array.from({ length: 40 }, (_, i) => `user-${i}`));
    // Both arms within the first half: grouped by arm, a half-read request was (almost) all one arm.
    expect(new Set(logged.slice(0, 20).map((r) => r.variant))).toEqual(new Set(['champion', 'challenger']));
  });

  it('does not stamp champion answers given because the routed challenger is not loaded yet', async () => {
    const logged = await run({ model: 'm', champion: loaded('1.0.0'), challenger: undefined, routing: routed, installedAt: new Date() });
    expect(logged).toHaveLength(40);
    expect(logged.every((r) => r.variant === 'champion' && r.experimentId === undefined)).toBe(true);
  });
});
