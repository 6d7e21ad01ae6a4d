import { describe, expect, it } from 'vitest';
import { bootstrapCandidate, trainCandidate } from './candidate.js';
import { groupKey } from './data.js';
import { partitionByGroup } from './splits.js';
import { syntheticExamples, tinyOptions } from './testing/synthetic.js';

const split = { validation: 0.15, gate: 0.15, test: 0.15 };

describe('trainCandidate (the trainer and bench:learn path)', async () => {
  const old = syntheticExamples(['alpha', 'beta', 'gamma'], 60, 1);
  const boot = await bootstrapCandidate(old, { ...tinyOptions, strategy: { replay: { capacity: 200, ratio: 0.5 } } }, split);

  it('bootstraps without training on its validation, gate or test rows, and records each set', () => {
    const parts = partitionByGroup(old, split);
    expect(boot.splits.train.rows).toBe(parts.train.length);
    expect(boot.splits.test.rows).toBe(parts.test.length);
    expect(boot.metrics.testRows).toBe(parts.test.length);
    expect(Number.isSafeInteger(boot.metrics.testHash)).toBe(true);
    expect(boot.snapshot).toHaveLength(old.length);
    const held = new Set([...parts.validation, ...parts.gate, ...parts.test].map(groupKey));
    expect((boot.state.replay ?? []).some((e) => held.has(groupKey(e)))).toBe(false);
  });

  it('trains an update on train rows only, gates on the gate set, reports test accuracy and ECE before/after', async () => {
    const fresh = syntheticExamples(['delta'], 60, 2).map((e) => ({ ...e, source: 'human_correction' as const }));
    const out = await trainCandidate(boot.state, { fresh, previous: boot.snapshot }, { ...tinyOptions, epochs: 8, strategy: { replay: { capacity: 200, ratio: 0.5 }, weightAlign: true } }, { split });
    const trained = new Set((out.state.replay ?? []).map(groupKey));
    const total = old.length + fresh.length;
    const heldNow = [...partitionByGroup(old, split, total).test, ...partitionByGroup(fresh, split, total).gate];
    expect(heldNow.length).toBeGreaterThan(0);
    for (const e of heldNow) expect(trained.has(groupKey(e))).toBe(false);
    expect(out.state.labels).toEqual(['alpha', 'beta', 'gamma', 'delta']);
    for (const key of ['trainRows', 'trainHash', 'validationRows', 'validationHash', 'gateRows', 'gateHash', 'testRows', 'testHash', 'eceRaw', 'eceCalibrated', 'temperature', 'accuracy', 'forgetting']) {
      expect(out.metrics[key], key).toBeTypeOf('number');
    }
    expect(out.metrics.accuracy).toBeGreaterThan(0.8);
    expect(out.scores.accuracy).toBe(out.metrics.gateAccuracy);
    expect(out.snapshot).toHaveLength(old.length + fresh.length);
  });
});
