import { describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { fitNewClassShift, shiftedNll, shiftNewClasses } from './biasCorrection.js';

/** Logits of `rows` rows over C classes: the true class gets +3, classes >= firstNew get +bias, plus noise. */
function logitsWithBias(rows: number, C: number, firstNew: number, bias: number, seed = 7): { z: Float32Array; y: Int32Array } {
  const rng = createRng(seed);
  const z = new Float32Array(rows * C);
  const y = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    y[r] = r % C;
    for (let c = 0; c < C; c++) z[r * C + c] = (c === y[r] ? 3 : 0) + (c >= firstNew ? bias : 0) + 1.5 * (rng.next() - 0.5);
  }
  return { z, y };
}

describe('bias correction of new classes', () => {
  it('finds the shift that undoes an inflated new-class logit, and it lowers the held-out NLL', () => {
    const { z, y } = logitsWithBias(600, 6, 4, 2.5);
    const delta = fitNewClassShift(z, y, 6, 4);
    expect(delta).toBeLessThan(-1.5);
    expect(delta).toBeGreaterThan(-3.5);
    expect(shiftedNll(z, y, 6, 4, delta)).toBeLessThan(shiftedNll(z, y, 6, 4, 0) - 0.1);
    const shifted = z.slice();
    shiftNewClasses(shifted, 6, 4, delta);
    expect(shiftedNll(shifted, y, 6, 4, 0)).toBeCloseTo(shiftedNll(z, y, 6, 4, delta), 5);
    // only the new columns moved
    expect(shifted[0]).toBe(z[0]);
    expect(shifted[4]).toBeCloseTo((z[4] as number) + delta, 5);
  });

  it('leaves unbiased logits nearly alone', () => {
    const { z, y } = logitsWithBias(600, 6, 4, 0);
    expect(Math.abs(fitNewClassShift(z, y, 6, 4))).toBeLessThan(0.4);
  });

  it('does nothing without enough held-out rows of new classes, or without old or new classes', () => {
    const { z, y } = logitsWithBias(600, 6, 4, 2.5);
    const fewNew = Int32Array.from(y, (t, r) => (t >= 4 && r > 30 ? 0 : t));
    expect(fitNewClassShift(z, fewNew, 6, 4)).toBe(0);
    expect(fitNewClassShift(z, y, 6, 0)).toBe(0);
    expect(fitNewClassShift(z, y, 6, 6)).toBe(0);
  });
});
