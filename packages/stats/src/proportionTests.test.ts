import { describe, expect, it } from 'vitest';
import { cohensH, differenceVariance, mixtureSequentialTest, twoProportionZTest } from './proportionTests.js';

describe('twoProportionZTest', () => {
  it('matches the textbook pooled z-test (200/1000 vs 250/1000; scipy chi2_contingency 2x2 = z²)', () => {
    const r = twoProportionZTest({ n: 1000, successes: 200 }, { n: 1000, successes: 250 });
    expect(r.difference).toBeCloseTo(0.05, 12);
    expect(r.z).toBeCloseTo(2.677397763008329, 10);
    expect(r.z ** 2).toBeCloseTo(7.168458781362007, 9);
    expect(r.pValue).toBeCloseTo(0.007419649261025687, 12);
    expect(r.ci.lower).toBeGreaterThan(0);
    expect(r.ci.level).toBe(0.95);
  });

  it('is symmetric and gives p = 1 with no difference or a degenerate pool', () => {
    const a = { n: 500, successes: 100 };
    const b = { n: 700, successes: 180 };
    expect(twoProportionZTest(a, b).z).toBeCloseTo(-twoProportionZTest(b, a).z, 12);
    expect(twoProportionZTest(a, a).pValue).toBe(1);
    expect(twoProportionZTest({ n: 10, successes: 10 }, { n: 20, successes: 20 }).pValue).toBe(1);
    expect(() => twoProportionZTest({ n: 0, successes: 0 }, a)).toThrow(/at least one observation/);
  });
});

describe('mixtureSequentialTest', () => {
  const champion = { n: 1000, successes: 800 };
  const challenger = { n: 1000, successes: 850 };

  it('matches the mSPRT formula of Johari et al. (computed independently in Python)', () => {
    const r = mixtureSequentialTest(champion, challenger, { alpha: 0.05, tau: 0.0025 });
    expect(differenceVariance(champion, challenger)).toBeCloseTo(0.0002879243633489388, 15);
    expect(r.logLikelihoodRatio).toBeCloseTo(2.757878305080445, 10);
    expect(r.pValue).toBeCloseTo(0.06342619674059703, 10);
    expect(r.ci.lower).toBeCloseTo(-0.0015047809781858004, 10);
    expect(r.ci.upper).toBeCloseTo(0.10150478097818566, 10);
  });

  it('puts the likelihood ratio exactly at 1/alpha on the confidence-sequence boundary', () => {
    const alpha = 0.05;
    const tau = 0.0025;
    const r = mixtureSequentialTest(champion, challenger, { alpha, tau });
    const v = differenceVariance(champion, challenger);
    const logLr = (theta0: number): number => 0.5 * Math.log(v / (v + tau)) + (tau * (r.difference - theta0) ** 2) / (2 * v * (v + tau));
    expect(logLr(r.ci.upper)).toBeCloseTo(Math.log(1 / alpha), 10);
    expect(logLr(r.ci.lower)).toBeCloseTo(Math.log(1 / alpha), 10);
    expect(r.pValue < alpha).toBe(r.ci.lower > 0 || r.ci.upper < 0);
  });

  it('is wider than the fixed-horizon interval (the price of peeking) and narrows with n', () => {
    const fixed = twoProportionZTest(champion, challenger);
    const seq = mixtureSequentialTest(champion, challenger);
    expect(seq.ci.upper - seq.ci.lower).toBeGreaterThan(fixed.ci.upper - fixed.ci.lower);
    const bigger = mixtureSequentialTest({ n: 4000, successes: 3200 }, { n: 4000, successes: 3400 });
    expect(bigger.ci.upper - bigger.ci.lower).toBeLessThan(seq.ci.upper - seq.ci.lower);
    expect(bigger.pValue).toBeLessThan(1e-6);
  });

  it('rejects a non-positive mixing variance', () => {
    expect(() => mixtureSequentialTest(champion, challenger, { tau: 0 })).toThrow(/tau/);
  });
});

describe('cohensH', () => {
  it('is 2·asin√p₂ − 2·asin√p₁', () => {
    expect(cohensH(0.5, 0.5)).toBe(0);
    expect(cohensH(0.8, 0.85)).toBeCloseTo(2 * Math.asin(Math.sqrt(0.85)) - 2 * Math.asin(Math.sqrt(0.8)), 14);
    expect(cohensH(0.8, 0.85)).toBeCloseTo(0.1319, 4);
  });
});
