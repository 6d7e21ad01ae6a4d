import { describe, expect, it } from 'vitest';
import { createFeaturizer, normalizeText, tokenize } from './features.js';

describe('featurizer', () => {
  it('folds accents, width forms and case', () => {
    expect(normalizeText('Café ÉCOLE ﬁne')).toBe('cafe ecole fine');
    expect(tokenize("Women's Cycling-Shorts")).toEqual(['women', 's', 'cycling', 'shorts']);
  });

  it('is deterministic, bounded, normalized and padded', () => {
    const f = createFeaturizer({ buckets: 1000, maxFeatures: 64 });
    const a = f.featurize(['Alisha Solid Women’s Cycling Shorts', '']);
    const b = createFeaturizer({ buckets: 1000, maxFeatures: 64 }).featurize(['Alisha Solid Women’s Cycling Shorts', '']);
    expect([...a.indices]).toEqual([...b.indices]);
    expect([...a.weights]).toEqual([...b.weights]);
    const count = a.counts[0] as number;
    expect(count).toBeGreaterThan(10);
    let sum = 0;
    for (let j = 0; j < 64; j++) {
      const idx = a.indices[j] as number;
      expect(idx).toBeGreaterThanOrEqual(0);
      expect(idx).toBeLessThan(1000);
      sum += a.weights[j] as number;
      if (j >= count) expect(a.weights[j]).toBe(0);
    }
    expect(sum).toBeCloseTo(1, 5);
    expect(a.counts[1]).toBe(0);
  });

  it('keeps at most maxFeatures distinct features and reuses the output buffer', () => {
    const f = createFeaturizer({ maxFeatures: 8 });
    const out = f.featurize(['one two three four five six seven eight nine ten']);
    expect(out.counts[0]).toBe(8);
    const again = f.featurize(['one'], out);
    expect(again).toBe(out);
    expect(again.rows).toBe(1);
  });

  it('gives unseen accent variants the same features', () => {
    const f = createFeaturizer();
    const a = f.featurize(['crème brûlée']);
    const b = f.featurize(['CREME BRULEE']);
    expect([...a.indices]).toEqual([...b.indices]);
  });
});
