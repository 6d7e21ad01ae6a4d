import { describe, expect, it } from 'vitest';
import { assignVariant, bucketOf } from './assignVariant.js';
import { sampleRatioMismatch } from './sampleRatioMismatch.js';

const ids = Array.from({ length: 100_000 }, (_, i) => `user-${i}`);

describe('assignVariant', () => {
  it('is sticky: the same subject and salt always get the same variant', () => {
    for (const id of ids.slice(0, 1000)) {
      expect(assignVariant(id, { challengerBp: 2500 }, 'exp-1')).toBe(assignVariant(id, { challengerBp: 2500 }, 'exp-1'));
    }
    expect(bucketOf('user-1', 'exp-1')).toBe(bucketOf('user-1', 'exp-1'));
  });

  it('sends the configured share to the challenger (10 % of 100,000 sequential ids)', () => {
    const challenger = ids.filter((id) => assignVariant(id, { challengerBp: 1000 }, 'exp-1') === 'challenger').length;
    expect(Math.abs(challenger / ids.length - 0.1)).toBeLessThan(0.004); // ~4 sd
    // And buckets are uniform across 100 groups of 100 bp.
    const groups = new Array<number>(100).fill(0);
    for (const id of ids) {
      const g = Math.floor(bucketOf(id, 'exp-1') / 100);
      groups[g] = (groups[g] ?? 0) + 1;
    }
    expect(sampleRatioMismatch(groups, new Array<number>(100).fill(1)).pValue).toBeGreaterThan(0.001);
  });

  it('only moves champion subjects when the challenger share grows', () => {
    for (const id of ids.slice(0, 5000)) {
      if (assignVariant(id, { challengerBp: 500 }, 's') === 'challenger') expect(assignVariant(id, { challengerBp: 2000 }, 's')).toBe('challenger');
    }
  });

  it('reshuffles subjects across experiments (independent salts)', () => {
    const a = ids.slice(0, 20_000).map((id) => assignVariant(id, { challengerBp: 5000 }, 'exp-a'));
    const b = ids.slice(0, 20_000).map((id) => assignVariant(id, { challengerBp: 5000 }, 'exp-b'));
    const agree = a.filter((v, i) => v === b[i]).length / a.length;
    expect(Math.abs(agree - 0.5)).toBeLessThan(0.015);
  });

  it('handles 0 and 10000 bp and rejects invalid splits', () => {
    expect(assignVariant('x', { challengerBp: 0 }, 's')).toBe('champion');
    expect(assignVariant('x', { challengerBp: 10_000 }, 's')).toBe('challenger');
    expect(() => assignVariant('x', { challengerBp: 10.5 }, 's')).toThrow(/basis points/);
    expect(() => assignVariant('x', { challengerBp: 10_001 }, 's')).toThrow(RangeError);
  });
});
