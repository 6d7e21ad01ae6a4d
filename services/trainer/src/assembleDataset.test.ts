import { describe, expect, it } from 'vitest';
import type { Example } from '@flywheel/learning';
import { assembleDataset } from './assembleDataset.js';

const rows = (n: number, source: Example['source'], tag: string): Example[] =>
  Array.from({ length: n }, (_, i) => ({ text: `${tag} text ${i}`, label: `l${i % 3}`, group: `${tag}-${i}`, source }));

describe('assembleDataset', () => {
  const opts = { holdoutFraction: 0.2, holdoutMaxRows: 1000, oldMaxRows: 10_000, seed: 1 };
  it('never trains on the holdout or the fresh validation rows, and snapshots all of them', () => {
    const old = rows(200, 'original', 'old');
    const fresh = [...rows(50, 'human_correction', 'fix'), ...rows(30, 'pseudo_label', 'pseudo')];
    const ds = assembleDataset(fresh, old, opts);
    const train = new Set(ds.train.map((e) => e.group));
    expect(ds.holdout.length).toBeGreaterThan(0);
    expect(ds.freshValidation.length).toBeGreaterThan(0);
    for (const e of [...ds.holdout, ...ds.freshValidation]) expect(train.has(e.group)).toBe(false);
    expect(ds.holdout.every((e) => e.source === 'original')).toBe(true);
    expect(ds.freshValidation.every((e) => e.source === 'human_correction')).toBe(true);
    expect(ds.snapshot).toHaveLength(280);
  });
  it('keeps the same old rows in the holdout from one run to the next', () => {
    const old = rows(200, 'original', 'old');
    const first = assembleDataset(rows(5, 'human_correction', 'a'), old, opts);
    const second = assembleDataset(rows(5, 'human_correction', 'b'), first.snapshot, opts);
    const held = new Set(first.holdout.map((e) => e.group));
    expect(second.train.filter((e) => held.has(e.group))).toEqual([]);
  });
});
