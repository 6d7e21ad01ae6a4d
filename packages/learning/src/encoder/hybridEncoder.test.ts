import { describe, expect, it } from 'vitest';
import { hybridEncoder, type FeatureEncoder } from './hybridEncoder.js';

const fixed: FeatureEncoder = { hash: 'fixed', dim: 2, embed: async (texts) => texts.map((t) => Float32Array.of(t.length, 0)) };

describe('hybridEncoder', () => {
  it('puts the unit-length encoder row first and a unit-length n-gram bag after it', async () => {
    const hybrid = hybridEncoder(fixed, { features: { buckets: 64 } });
    expect(hybrid.dim).toBe(66);
    const [row, empty] = await hybrid.embed(['red apple', '']);
    expect([...row!.subarray(0, 2)]).toEqual([1, 0]);
    const bag = row!.subarray(2);
    expect(bag.reduce((a, x) => a + x * x, 0)).toBeCloseTo(1, 5);
    expect(bag.filter((x) => x > 0).length).toBeGreaterThan(3);
    // nothing to say about an empty text: zeros, not NaN
    expect([...empty!].every((x) => x === 0)).toBe(true);
  });

  it('hashes differently from its encoder and from another feature config', () => {
    const a = hybridEncoder(fixed, { features: { buckets: 64 } });
    const b = hybridEncoder(fixed, { features: { buckets: 128 } });
    expect(new Set([a.hash, b.hash, fixed.hash]).size).toBe(3);
  });
});
