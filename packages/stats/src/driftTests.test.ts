import { describe, expect, it } from 'vitest';
import { accuracyDrop, chiSquareHomogeneity, jensenShannonDivergence, kolmogorovSmirnovTest, populationStabilityIndex, psiLevel } from './driftTests.js';
import { mulberry32, sampleNormal } from './random.js';

// Reference values from scipy 1.17 / numpy.
describe('populationStabilityIndex', () => {
  it('matches Σ (q − p) ln(q/p) for uniform → [0.1, 0.2, 0.3, 0.4]', () => {
    const r = populationStabilityIndex([250, 250, 250, 250], [100, 200, 300, 400], { epsilon: 0 });
    expect(r.psi).toBeCloseTo(0.22821740957339182, 14);
    expect(r.level).toBe('warn');
    expect(r.effectSize).toEqual({ measure: 'psi', value: r.psi });
    expect(r.pValue).toBeLessThan(1e-10);
  });

  it('is finite with empty buckets thanks to epsilon smoothing, and 0 for identical histograms', () => {
    const r = populationStabilityIndex([100, 0, 100], [50, 100, 50]);
    expect(Number.isFinite(r.psi)).toBe(true);
    expect(r.level).toBe('significant');
    expect(populationStabilityIndex([3, 4, 5], [30, 40, 50]).psi).toBeCloseTo(0, 14);
  });

  it('has a p-value that discounts noise from small windows', () => {
    // PSI 0.26 on 20 events is not evidence; the same PSI on 20,000 events is.
    const small = populationStabilityIndex([5, 5, 5, 5], [2, 3, 6, 9]);
    const large = populationStabilityIndex([5000, 5000, 5000, 5000], [2000, 3000, 6000, 9000]);
    expect(small.psi).toBeCloseTo(large.psi, 6);
    expect(small.pValue).toBeGreaterThan(0.1);
    expect(large.pValue).toBeLessThan(1e-12);
  });

  it('uses the conventional levels', () => {
    expect(psiLevel(0.05)).toBe('none');
    expect(psiLevel(0.1)).toBe('warn');
    expect(psiLevel(0.2499)).toBe('warn');
    expect(psiLevel(0.25)).toBe('significant');
  });

  it('explains mismatched or empty histograms', () => {
    expect(() => populationStabilityIndex([1, 2], [1, 2, 3])).toThrow(/same buckets/);
    expect(() => populationStabilityIndex([0, 0], [1, 2])).toThrow(/reference histogram is empty/);
  });
});

describe('jensenShannonDivergence', () => {
  it('matches scipy jensenshannon(base=2)²', () => {
    expect(jensenShannonDivergence([10, 20, 30, 40], [40, 30, 20, 10])).toBeCloseTo(0.15356065532898452, 13);
    expect(jensenShannonDivergence([1, 0], [0, 1])).toBeCloseTo(1, 14);
    expect(jensenShannonDivergence([1, 2], [2, 4])).toBeCloseTo(0, 14);
  });
});

describe('kolmogorovSmirnovTest', () => {
  const a = [0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37, 1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47];
  const b = [2.2, 1.66, 1.38, 0.2, 0.36, 0.0, 0.96, 1.56, 0.44, 1.5, -0.3, 0.66, 2.31, 3.29, -0.27, -0.37, 0.38, 0.7, 0.52, -0.72, 0.94, 1.14, 0.43, 0.95, 1.41, 1.98, 0.28, 1.06, 1.83, 1.21];

  it('matches scipy ks_2samp: D = 0.32, p ≈ 0.0978 (exact)', () => {
    const r = kolmogorovSmirnovTest(a, b);
    expect(r.statistic).toBeCloseTo(0.32, 12);
    expect(r.n).toBe(25);
    expect(r.m).toBe(30);
    expect(Math.abs(r.pValue - 0.09778141114722018)).toBeLessThan(0.005);
    expect(r.effectSize).toEqual({ measure: 'ks_d', value: r.statistic });
  });

  it('gives D = 1 for separated samples, D = 0 for equal ones, and handles ties', () => {
    expect(kolmogorovSmirnovTest([1, 2, 3], [4, 5, 6]).statistic).toBe(1);
    expect(kolmogorovSmirnovTest([1, 2, 3], [3, 2, 1]).statistic).toBe(0);
    expect(kolmogorovSmirnovTest([1, 2, 3], [3, 2, 1]).pValue).toBe(1);
    expect(kolmogorovSmirnovTest([1, 1, 1, 2], [1, 2, 2, 2]).statistic).toBeCloseTo(0.5, 14);
  });

  it('has calibrated p-values under H0 (≈ 5 % below 0.05 in 400 trials)', () => {
    const rng = mulberry32(7);
    let rejections = 0;
    for (let t = 0; t < 400; t++) {
      const x = Array.from({ length: 200 }, () => sampleNormal(rng));
      const y = Array.from({ length: 300 }, () => sampleNormal(rng));
      if (kolmogorovSmirnovTest(x, y).pValue < 0.05) rejections += 1;
    }
    expect(rejections / 400).toBeGreaterThan(0.02);
    expect(rejections / 400).toBeLessThan(0.085);
  });
});

describe('chiSquareHomogeneity', () => {
  it('matches scipy chi2_contingency (no continuity correction) and Cramér’s V', () => {
    const r = chiSquareHomogeneity([
      [10, 20, 30],
      [20, 20, 20],
    ]);
    expect(r.statistic).toBeCloseTo(5.333333333333334, 12);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(0.0694834512228015, 12);
    expect(r.cramersV).toBeCloseTo(0.21081851067789195, 12);
    const five = chiSquareHomogeneity([
      [120, 80, 50, 30, 20],
      [100, 90, 60, 25, 45],
    ]);
    expect(five.statistic).toBeCloseTo(12.753547922665572, 10);
    expect(five.pValue).toBeCloseTo(0.012544944153074875, 12);
    expect(five.cramersV).toBeCloseTo(0.14342328466795226, 12);
  });

  it('equals z² of the two-proportion test on a 2×2 table', () => {
    expect(chiSquareHomogeneity([[200, 800], [250, 750]]).statistic).toBeCloseTo(7.168458781362007, 10);
  });

  it('drops empty categories and returns no evidence for a single category', () => {
    expect(chiSquareHomogeneity([[10, 0, 20], [5, 0, 10]]).df).toBe(1);
    expect(chiSquareHomogeneity([[10, 0], [5, 0]])).toMatchObject({ statistic: 0, pValue: 1, cramersV: 0 });
  });
});

describe('accuracyDrop', () => {
  it('reports the drop, a one-sided p-value and a CI', () => {
    const r = accuracyDrop({ n: 1000, successes: 250 }, { n: 1000, successes: 200 });
    expect(r.drop).toBeCloseTo(0.05, 12);
    expect(r.z).toBeCloseTo(2.677397763008329, 10);
    expect(r.pValue).toBeCloseTo(0.007419649261025687 / 2, 12);
    expect(r.ci.lower).toBeGreaterThan(0);
    expect(r.effectSize).toEqual({ measure: 'accuracy_drop', value: r.drop });
    expect(accuracyDrop({ n: 1000, successes: 200 }, { n: 1000, successes: 250 }).pValue).toBeGreaterThan(0.99);
  });
});
