import { describe, expect, it } from 'vitest';
import { checkSampleRatio, sampleRatioMismatch } from './sampleRatioMismatch.js';

describe('sampleRatioMismatch', () => {
  it('matches scipy.stats.chisquare for a broken 90/10 split observed as 85/15', () => {
    const r = checkSampleRatio(1700, 300, { challengerBp: 1000 });
    expect(r.chiSquare).toBeCloseTo(55.55555555555556, 10);
    expect(r.df).toBe(1);
    expect(Math.abs(r.pValue / 9.08547022400831e-14 - 1)).toBeLessThan(1e-9);
    expect(r.halt).toBe(true);
    expect(r.observedShares).toEqual([0.85, 0.15]);
  });

  it('does not halt a healthy split (905/95 against 90/10, p = 0.598)', () => {
    const r = checkSampleRatio(905, 95, { challengerBp: 1000 });
    expect(r.pValue).toBeCloseTo(0.5981614526835279, 12);
    expect(r.halt).toBe(false);
  });

  it('works for k arms, normalises shares, and treats traffic to a 0-share arm as infinite mismatch', () => {
    expect(sampleRatioMismatch([100, 100, 100], [1, 1, 1]).pValue).toBeCloseTo(1, 12);
    expect(sampleRatioMismatch([100, 0], [1, 0]).halt).toBe(false);
    expect(sampleRatioMismatch([100, 1], [1, 0]).halt).toBe(true);
    expect(sampleRatioMismatch([0, 0], [9, 1]).halt).toBe(false);
    expect(() => sampleRatioMismatch([1, 2], [1])).toThrow(/one expected share per arm/);
  });
  it('does not halt before every arm expects 5 units: the chi-square overstates small imbalances', () => {
    // 10 units at 90/10 with 5 on the challenger: p = 2.5e-5 by chi-square, 0.0016 exactly.
    const small = sampleRatioMismatch([5, 5], [9, 1]);
    expect(small.pValue).toBeLessThan(0.001);
    expect(small.halt).toBe(false);
    // The same shares at 60 units (challenger expects 6) do halt.
    expect(sampleRatioMismatch([30, 30], [9, 1]).halt).toBe(true);
  });
});
