import { describe, expect, it } from 'vitest';
import { mulberry32, sampleBinomial, sampleNormal } from './random.js';

describe('mulberry32', () => {
  it('is deterministic per seed and uniform on [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 20_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeCloseTo(0.5, 2); // sd of the mean ≈ 0.002
    expect(mulberry32(43)()).not.toBe(mulberry32(42)());
  });
});

describe('samplers', () => {
  it('sampleNormal has the requested mean and sd', () => {
    const rng = mulberry32(1);
    const xs = Array.from({ length: 40_000 }, () => sampleNormal(rng, 3, 2));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1));
    expect(Math.abs(mean - 3)).toBeLessThan(0.04); // 4 sd of the mean
    expect(Math.abs(sd - 2)).toBeLessThan(0.03);
  });

  it.each([
    [10, 0.5],
    [100, 0.8],
    [1000, 0.3],
    [100_000, 0.01],
    [7, 0.95],
  ])('sampleBinomial(n=%d, p=%d) has mean np and variance np(1−p)', (n, p) => {
    const rng = mulberry32(n);
    const runs = 20_000;
    const xs = Array.from({ length: runs }, () => sampleBinomial(rng, n, p));
    expect(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= n)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / runs;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (runs - 1);
    const sdOfMean = Math.sqrt((n * p * (1 - p)) / runs);
    expect(Math.abs(mean - n * p)).toBeLessThan(4 * sdOfMean);
    expect(variance / (n * p * (1 - p))).toBeGreaterThan(0.94);
    expect(variance / (n * p * (1 - p))).toBeLessThan(1.06);
  });

  it('sampleBinomial handles degenerate p and rejects bad input', () => {
    const rng = mulberry32(3);
    expect(sampleBinomial(rng, 50, 0)).toBe(0);
    expect(sampleBinomial(rng, 50, 1)).toBe(50);
    expect(sampleBinomial(rng, 0, 0.5)).toBe(0);
    expect(() => sampleBinomial(rng, 2.5, 0.5)).toThrow(RangeError);
    expect(() => sampleBinomial(rng, 5, 1.5)).toThrow(RangeError);
  });
});
