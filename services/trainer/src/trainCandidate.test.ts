import { parseAdapterManifest, serializeTrainingState, type Example } from '@flywheel/learning';
import { bootstrapCandidate } from '@flywheel/learning/train';
import { describe, expect, it } from 'vitest';
import { optionsForModel, parseModelOptionsJson } from './modelOptions.js';
import { trainCandidate } from './trainCandidate.js';

// Texts whose class is told by class-specific words among shared noise words.
const synthetic = (labels: string[], perClass: number, seed: number): Example[] => {
  let s = seed;
  const rnd = (n: number): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) % n);
  return labels.flatMap((label) => Array.from({ length: perClass }, (_, i) => ({
    text: [0, 1, 2].map(() => `${label}x${rnd(8)}`).concat([`noise${rnd(30)}`, `noise${rnd(30)}`]).join(' '),
    label, group: `${label}-${seed}-${i}`,
  })));
};
const tiny = { model: { features: { buckets: 2048, maxFeatures: 48 }, embeddingDim: 16, hiddenUnits: [32] }, lora: { rank: 4, alpha: 8, dropout: 0 }, batchSize: 32, seed: 7 };

describe('trainCandidate (trainer side)', () => {
  it('trains with the per-model options and records the sets, the temperature and the options in the metrics', async () => {
    const boot = await bootstrapCandidate(synthetic(['alpha', 'beta', 'gamma'], 60, 1), { ...tiny, epochs: 4, strategy: { replay: { capacity: 200, ratio: 0.5 } } });
    const perModel = parseModelOptionsJson.parse('{"m": {"mode": "lora", "epochs": 4, "embeddingDeltaRows": 200}}');
    const options = { ...optionsForModel('m', {}, perModel), ...tiny };
    const fresh = synthetic(['alpha', 'delta'], 40, 2).map((e) => ({ ...e, source: 'human_correction' as const }));
    const out = await trainCandidate({
      model: 'm', version: '1.0.1', championFiles: serializeTrainingState(boot.state), fresh, previous: boot.snapshot, options,
      data: { oldMaxRows: 10_000, oldTrainMaxRows: 0, split: { validation: 0.1, gate: 0.1, test: 0.1, maxRows: 500 } },
    });
    expect(out.newBase).toBe(false); // lora mode: the champion's base is reused
    expect(out.labels).toContain('delta');
    expect(out.snapshot).toHaveLength(boot.snapshot.length + fresh.length);
    expect(out.metrics).toMatchObject({ optModeFull: 0, optEpochs: 4, optEmbeddingDeltaRows: 200, freshRows: fresh.length });
    for (const k of ['trainRows', 'trainHash', 'validationRows', 'gateRows', 'testRows', 'testHash', 'temperature', 'eceRaw', 'eceCalibrated']) expect(out.metrics[k], k).toBeTypeOf('number');
    const manifest = parseAdapterManifest(out.adapter.manifest);
    expect(manifest.temperature ?? 1).toBe(out.metrics.temperature);
  });
});
