import { describe, expect, it } from 'vitest';
import { accuracyDrop, chiSquareHomogeneity, kolmogorovSmirnovTest, populationStabilityIndex } from './driftTests.js';
import { compareAccuracy, compareCategories, compareCounts, compareNumeric, driftVerdict, numericReference } from './driftVerdict.js';
import { mulberry32, sampleNormal } from './random.js';

describe('driftVerdict decides on effect size, with the p-value as a secondary requirement', () => {
  it('ignores a tiny but highly significant shift in a huge sample (large-sample oversensitivity)', () => {
    // 0.4-point change in a label share over 2 million events: p ≈ 0, Cramér's V ≈ 0.004.
    const result = chiSquareHomogeneity([
      [500_000, 500_000],
      [496_000, 504_000],
    ]);
    expect(result.pValue).toBeLessThan(1e-6);
    const verdict = driftVerdict([{ feature: 'label', result }]);
    expect(verdict).toMatchObject({ level: 'none', drifted: false });
    expect(verdict.findings[0]?.reason).toMatch(/below threshold/);
  });

  it('ignores a large PSI that is not significant (window too small)', () => {
    const result = populationStabilityIndex([5, 5, 5, 5], [2, 3, 6, 9]);
    expect(result.level).toBe('significant');
    const verdict = driftVerdict([{ feature: 'x', result }]);
    expect(verdict.level).toBe('none');
    expect(verdict.findings[0]?.reason).toMatch(/not significant/);
  });

  it('flags each test at its effect threshold: PSI 0.1/0.25, KS D 0.1, Cramér’s V 0.1, accuracy −5 points', () => {
    const warn = populationStabilityIndex([2500, 2500, 2500, 2500], [1400, 2100, 2900, 3600]); // PSI ≈ 0.117
    expect(driftVerdict([{ feature: 'psi', result: warn }])).toMatchObject({ level: 'warn', drifted: false });
    const significant = populationStabilityIndex([2500, 2500, 2500, 2500], [500, 1500, 3000, 5000]);
    expect(driftVerdict([{ feature: 'psi', result: significant }])).toMatchObject({ level: 'significant', drifted: true });

    const rng = mulberry32(11);
    const ref = Array.from({ length: 3000 }, () => sampleNormal(rng));
    const shifted = Array.from({ length: 3000 }, () => sampleNormal(rng, 0.5));
    const nudged = Array.from({ length: 3000 }, () => sampleNormal(rng, 0.1));
    expect(driftVerdict([{ feature: 'ks', result: kolmogorovSmirnovTest(ref, shifted) }]).drifted).toBe(true);
    expect(driftVerdict([{ feature: 'ks', result: kolmogorovSmirnovTest(ref, nudged) }]).drifted).toBe(false);

    expect(driftVerdict([{ feature: 'labels', result: chiSquareHomogeneity([[500, 500], [350, 650]]) }]).drifted).toBe(true);

    const drop6 = accuracyDrop({ n: 5000, successes: 4400 }, { n: 5000, successes: 4100 });
    const drop2 = accuracyDrop({ n: 50_000, successes: 44_000 }, { n: 50_000, successes: 43_000 });
    expect(drop2.pValue).toBeLessThan(1e-6);
    expect(driftVerdict([{ feature: 'acc', result: drop6 }]).drifted).toBe(true);
    expect(driftVerdict([{ feature: 'acc', result: drop2 }]).drifted).toBe(false);
    expect(driftVerdict([{ feature: 'acc', result: drop2 }], { accuracyDrop: 0.01 }).drifted).toBe(true);
  });

  it('takes the worst finding as the overall level', () => {
    const none = populationStabilityIndex([100, 100], [100, 100]);
    const sig = populationStabilityIndex([5000, 5000], [2000, 8000]);
    const v = driftVerdict([{ feature: 'a', result: none }, { feature: 'b', result: sig }]);
    expect(v.level).toBe('significant');
    expect(v.findings.map((f) => f.level)).toEqual(['none', 'significant']);
  });
});

describe('compare helpers', () => {
  it('compareNumeric gives PSI over reference quantiles plus KS, and a prepared reference gives the same result', () => {
    const rng = mulberry32(5);
    const ref = Float64Array.from({ length: 2000 }, () => sampleNormal(rng));
    const cur = Float64Array.from({ length: 1000 }, () => sampleNormal(rng, 1));
    const raw = compareNumeric('x', ref, cur);
    expect(raw.map((s) => s.result.test)).toEqual(['psi', 'ks']);
    expect(compareNumeric('x', numericReference(ref), cur)).toEqual(raw);
    expect(driftVerdict(raw).drifted).toBe(true);
  });

  it('compareCounts / compareCategories / compareAccuracy produce verdict-ready signals', () => {
    expect(compareCounts('buckets', [10, 20], [20, 10]).map((s) => s.result.test)).toEqual(['psi', 'chi_square']);
    const signals = compareCategories('label', new Map([['a', 50], ['b', 50]]), new Map([['a', 50], ['c', 50]]));
    expect(driftVerdict(signals).drifted).toBe(true);
    expect(compareAccuracy('acc', { n: 10, successes: 9 }, { n: 10, successes: 8 }).result.test).toBe('accuracy_drop');
  });
});
