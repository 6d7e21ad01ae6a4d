import { describe, expect, it } from 'vitest';
import { decidePairedExperiment } from './decidePairedExperiment.js';
import { pairedSequentialTest } from './pairedSequentialTest.js';
import { mulberry32 } from './random.js';

const cells = (bothRight: number, championOnly: number, challengerOnly: number, bothWrong: number) => ({ bothRight, championOnly, challengerOnly, bothWrong });

describe('pairedSequentialTest (sequential McNemar on the discordant pairs)', () => {
  it('ignores the concordant cells for significance: only b vs c matter', () => {
    const few = pairedSequentialTest(cells(10, 5, 25, 2));
    const many = pairedSequentialTest(cells(10_000, 5, 25, 2_000));
    expect(many.pValue).toBeCloseTo(few.pValue, 12);
    expect(many.difference).toBeLessThan(few.difference); // the same 20 net wins over more items
  });

  it('is symmetric: swapping b and c flips the difference and keeps the p-value', () => {
    const x = pairedSequentialTest(cells(100, 8, 20, 10));
    const y = pairedSequentialTest(cells(100, 20, 8, 10));
    expect(y.pValue).toBeCloseTo(x.pValue, 12);
    expect(y.difference).toBeCloseTo(-x.difference, 12);
    expect(y.ci.lower).toBeCloseTo(-x.ci.upper, 6);
  });

  it('finds a lopsided disagreement significant and a balanced one not', () => {
    expect(pairedSequentialTest(cells(500, 5, 40, 50)).pValue).toBeLessThan(0.001);
    expect(pairedSequentialTest(cells(500, 20, 22, 50)).pValue).toBe(1);
  });

  it('has a confidence sequence for the share that holds the observed share and excludes 1/2 exactly when p < alpha', () => {
    for (const [b, c] of [[5, 40], [20, 22], [0, 12], [12, 0], [30, 45]] as const) {
      const t = pairedSequentialTest(cells(300, b, c, 40));
      const share = c / (b + c);
      expect(t.shareCi.lower).toBeLessThanOrEqual(share);
      expect(t.shareCi.upper).toBeGreaterThanOrEqual(share);
      const excludesHalf = t.shareCi.lower > 0.5 || t.shareCi.upper < 0.5;
      expect(excludesHalf).toBe(t.pValue < 0.05);
    }
  });

  it('without any pairs says nothing', () => {
    const t = pairedSequentialTest(cells(0, 0, 0, 0));
    expect(t).toMatchObject({ pairs: 0, pValue: 1, difference: 0, ci: { lower: -1, upper: 1 } });
  });

  it('rejects counters that are not non-negative integers', () => {
    expect(() => pairedSequentialTest(cells(1, -1, 0, 0))).toThrow(/championOnly/);
    expect(() => pairedSequentialTest(cells(1, 0, 0.5, 0))).toThrow(/challengerOnly/);
  });

  it('keeps P(ever significant | H0) ≤ alpha when looked at after every discordant pair (500 runs × 300 pairs)', () => {
    const rng = mulberry32(42);
    let everSignificant = 0;
    for (let run = 0; run < 500; run++) {
      let b = 0;
      let c = 0;
      for (let i = 0; i < 300; i++) {
        if (rng() < 0.5) b++;
        else c++;
        if (pairedSequentialTest(cells(0, b, c, 0)).pValue < 0.05) {
          everSignificant++;
          break;
        }
      }
    }
    expect(everSignificant / 500).toBeLessThanOrEqual(0.05);
  });
});

describe('the confidence sequence for the difference', () => {
  it('covers the true difference at every look in at least 95 % of runs (0.80 → 0.85, 91 % agreement; 400 runs, a look every 50 pairs up to 3,000)', () => {
    const rng = mulberry32(7);
    let missed = 0;
    for (let run = 0; run < 400; run++) {
      const n = [0, 0, 0, 0];
      for (let look = 0; look < 60; look++) {
        for (let i = 0; i < 50; i++) {
          const u = rng();
          n[u < 0.78 ? 0 : u < 0.8 ? 1 : u < 0.87 ? 2 : 3]! += 1;
        }
        const t = pairedSequentialTest(cells(n[0]!, n[1]!, n[2]!, n[3]!));
        if (t.ci.lower > 0.05 || t.ci.upper < 0.05) {
          missed++;
          break;
        }
      }
    }
    expect(missed / 400).toBeLessThanOrEqual(0.05);
  });
});

describe('decidePairedExperiment', () => {
  it('waits for the minimum number of pairs', () => {
    expect(decidePairedExperiment(cells(50, 0, 40, 5)).decision).toBe('continue');
  });

  it('promotes a challenger clearly better on the same items, and says why', () => {
    const d = decidePairedExperiment(cells(780, 20, 70, 130));
    expect(d.decision).toBe('promote');
    expect(d.reasons[0]?.code).toBe('significant_improvement');
    expect(d.challengerRate - d.championRate).toBeCloseTo(0.05, 10);
  });

  it('rejects a challenger significantly worse (degradation guard) and one whose minimum lift is implausible (futility)', () => {
    expect(decidePairedExperiment(cells(700, 60, 10, 130)).reasons[0]?.code).toBe('degradation');
    const aa = decidePairedExperiment(cells(7650, 350, 352, 1650));
    expect(aa.decision).toBe('reject');
    expect(aa.reasons[0]?.code).toBe('futility');
  });

  it('explains an invalid configuration', () => {
    expect(() => decidePairedExperiment(cells(1, 0, 0, 0), { minPairs: 0 })).toThrow(/minPairs/);
  });
});
