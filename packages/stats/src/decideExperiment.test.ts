import { describe, expect, it } from 'vitest';
import { decideExperiment, DEFAULT_EXPERIMENT_CONFIG } from './decideExperiment.js';

const arms = (champion: [number, number], challenger: [number, number]) => ({
  champion: { n: champion[0], successes: champion[1] },
  challenger: { n: challenger[0], successes: challenger[1] },
});

describe('decideExperiment', () => {
  it('defaults to the sequential test with the documented thresholds', () => {
    expect(DEFAULT_EXPERIMENT_CONFIG).toMatchObject({ method: 'sequential', alpha: 0.05, minSamplePerArm: 1000, minImprovement: 0.02, maxDegradation: 0.01 });
  });

  it('continues below the minimum sample size even with a large observed lift', () => {
    const d = decideExperiment(arms([500, 400], [500, 450]));
    expect(d.decision).toBe('continue');
    expect(d.reasons[0]?.code).toBe('insufficient_samples');
    expect(d.effect?.difference).toBeCloseTo(0.1, 12);
  });

  it('continues with no effect when an arm has no outcomes yet', () => {
    const d = decideExperiment(arms([0, 0], [10, 9]));
    expect(d).toMatchObject({ decision: 'continue', effect: null, pValue: 1 });
  });

  it('promotes a significant improvement above the minimum, with effect size and CI', () => {
    const d = decideExperiment(arms([3000, 2400], [3000, 2550]));
    expect(d.decision).toBe('promote');
    expect(d.reasons[0]?.code).toBe('significant_improvement');
    expect(d.effect?.difference).toBeCloseTo(0.05, 12);
    expect(d.effect?.relativeLift).toBeCloseTo(0.0625, 12);
    expect(d.effect?.ci.lower).toBeGreaterThan(0);
    expect(d.effect?.ci.level).toBe(0.95);
    expect(d.pValue).toBeLessThan(0.05);
    expect(d.champion.rate).toBe(0.8);
  });

  it('does not promote a significant lift smaller than minImprovement; rejects once 2 points is implausible', () => {
    const d = decideExperiment(arms([100_000, 80_000], [100_000, 81_000]));
    expect(d.pValue).toBeLessThan(1e-4);
    expect(d.decision).toBe('reject');
    expect(d.reasons[0]?.code).toBe('improvement_below_minimum');
  });

  it('rejects an A/A experiment for futility once the CI excludes the minimum improvement', () => {
    const d = decideExperiment(arms([20_000, 16_000], [20_000, 16_010]));
    expect(d.decision).toBe('reject');
    expect(d.reasons[0]?.code).toBe('futility');
  });

  it('stops a clearly worse challenger early through the degradation guard', () => {
    const d = decideExperiment(arms([300, 240], [300, 180]));
    expect(d.decision).toBe('reject');
    expect(d.reasons[0]?.code).toBe('degradation');
    expect(d.reasons[0]?.message).toMatch(/worse by 20\.00 pts/);
  });

  it('does not fire the degradation guard on a drop smaller than maxDegradation', () => {
    // Significantly worse by 0.5 points at huge n: not a guard rejection (but futile).
    const d = decideExperiment(arms([400_000, 320_000], [400_000, 318_000]), { maxDegradation: 0.01 });
    expect(d.reasons[0]?.code).toBe('futility');
  });

  it('is stricter in sequential mode than a single fixed look (5-point lift at 1,000 per arm)', () => {
    const stats = arms([1000, 800], [1000, 850]);
    const fixed = decideExperiment(stats, { method: 'fixed' });
    const sequential = decideExperiment(stats, { method: 'sequential' });
    expect(fixed.decision).toBe('promote');
    expect(fixed.pValue).toBeCloseTo(0.00329, 4);
    expect(sequential.decision).toBe('continue');
    expect(sequential.pValue).toBeGreaterThan(0.05);
  });

  it('halts on a sample-ratio mismatch before looking at outcomes', () => {
    const d = decideExperiment(arms([1700, 1300], [300, 290]), { split: { challengerBp: 1000 } });
    expect(d.decision).toBe('reject');
    expect(d.reasons[0]?.code).toBe('sample_ratio_mismatch');
    expect(d.srm?.halt).toBe(true);
    const ok = decideExperiment(arms([1800, 1440], [200, 160]), { split: { challengerBp: 1000 } });
    expect(ok.srm?.halt).toBe(false);
  });

  it('explains invalid configuration', () => {
    expect(() => decideExperiment(arms([1, 1], [1, 1]), { alpha: 5 })).toThrow(/alpha must be in \(0, 1\)/);
    expect(() => decideExperiment(arms([1, 1], [1, 1]), { minImprovement: 2 })).toThrow(/0\.02 for 2 points/);
    expect(() => decideExperiment(arms([1, 1], [1, 1]), { tau: -1 })).toThrow(/tau/);
    expect(() => decideExperiment(arms([1, 2], [1, 1]))).toThrow(/champion counters/);
  });
});
