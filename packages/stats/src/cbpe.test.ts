import { describe, expect, it } from 'vitest';
import { accuracyDropBetween, estimateAccuracy, windowAccuracy } from './cbpe.js';
import { driftVerdict } from './driftVerdict.js';
import { mulberry32 } from './random.js';

describe('estimateAccuracy (CBPE)', () => {
  it('is the mean confidence with the variance of a sum of independent Bernoullis', () => {
    const e = estimateAccuracy(Array.from({ length: 100 }, () => [0.9, 0.5, 1, 0.6]).flat());
    expect(e.accuracy).toBeCloseTo(0.75, 12);
    expect(e.variance).toBeCloseTo((100 * (0.09 + 0.25 + 0 + 0.24)) / 400 ** 2, 12);
    const half = 1.959964 * Math.sqrt(e.variance);
    expect(e.interval.lower).toBeCloseTo(0.75 - half, 5);
    expect(e.interval.upper).toBeCloseTo(0.75 + half, 5);
  });

  it('covers the realised accuracy of calibrated predictions about 95 % of the time', () => {
    const rng = mulberry32(7);
    let covered = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      const p = Array.from({ length: 300 }, () => 0.4 + 0.6 * rng());
      const realised = p.reduce((s, x) => s + (rng() < x ? 1 : 0), 0) / p.length;
      const { interval } = estimateAccuracy(p);
      if (realised >= interval.lower && realised <= interval.upper) covered++;
    }
    expect(covered / runs).toBeGreaterThan(0.92);
    expect(covered / runs).toBeLessThan(0.98);
  });

  it('refuses confidences outside [0, 1] and empty windows', () => {
    expect(() => estimateAccuracy([])).toThrow(RangeError);
    expect(() => estimateAccuracy([1.2])).toThrow(RangeError);
  });

  it('clips its interval to [0, 1]', () => {
    expect(estimateAccuracy([0.99, 0.5]).interval.upper).toBe(1);
  });
});

describe('windowAccuracy picks the realised accuracy once enough labels exist, else the estimate', () => {
  const estimate = estimateAccuracy([0.8, 0.8, 0.8, 0.8]);
  it('uses the estimate with too few labels', () => {
    expect(windowAccuracy({ n: 3, successes: 1 }, estimate, 10)).toMatchObject({ basis: 'estimated', accuracy: 0.8 });
  });
  it('uses the labels when there are enough', () => {
    expect(windowAccuracy({ n: 10, successes: 5 }, estimate, 10)).toMatchObject({ basis: 'realised', accuracy: 0.5 });
  });
  it('has nothing without labels or an estimate', () => {
    expect(windowAccuracy({ n: 0, successes: 0 }, undefined, 10)).toBeUndefined();
  });
});

describe('accuracyDropBetween judges an estimated drop on the accuracy-drop threshold', () => {
  it('flags a 10-point drop and not a 1-point one', () => {
    const ref = { basis: 'realised' as const, accuracy: 0.9, variance: 0.09 / 2000, n: 2000 };
    const big = accuracyDropBetween(ref, { basis: 'estimated', accuracy: 0.8, variance: 0.16 / 1000, n: 1000 });
    const small = accuracyDropBetween(ref, { basis: 'estimated', accuracy: 0.89, variance: 0.1 / 1000, n: 1000 });
    expect(big.drop).toBeCloseTo(0.1, 12);
    expect(driftVerdict([{ feature: 'accuracy', result: big }]).drifted).toBe(true);
    expect(driftVerdict([{ feature: 'accuracy', result: small }]).drifted).toBe(false);
  });
});
