import { describe, expect, it } from 'vitest';
import { expectedCalibrationError, fitTemperature, logitsEce, softmaxRows } from './calibration.js';
import { createRng } from './random.js';

/** Logits whose labels are drawn from softmax(z / trueT): a model overconfident by trueT. */
function overconfident(rows: number, C: number, trueT: number, seed: number): { logits: Float32Array; targets: Int32Array } {
  const rng = createRng(seed);
  const logits = new Float32Array(rows * C);
  for (let i = 0; i < logits.length; i++) logits[i] = rng.normal() * 4;
  const p = softmaxRows(logits, C, trueT);
  const targets = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let u = rng.next();
    let c = 0;
    while (c < C - 1 && (u -= p[r * C + c] as number) > 0) c++;
    targets[r] = c;
  }
  return { logits, targets };
}

describe('expected calibration error (15 bins)', () => {
  it('is 0 when accuracy matches confidence in every bin and the gap when it does not', () => {
    const conf = Array.from({ length: 100 }, () => 0.8);
    expect(expectedCalibrationError(conf, conf.map((_, i) => i < 80))).toBeCloseTo(0, 10);
    expect(expectedCalibrationError(conf.map(() => 1), conf.map((_, i) => i < 50))).toBeCloseTo(0.5, 10);
    // two bins: 0.95 confident and always right (gap 0.05), 0.55 confident and right half the time (gap 0.05)
    const c2 = [0.95, 0.95, 0.55, 0.55];
    expect(expectedCalibrationError(c2, [true, true, true, false])).toBeCloseTo(0.05, 6);
  });
});

describe('temperature scaling', () => {
  it('recovers the temperature of an overconfident model and lowers its ECE', () => {
    const { logits, targets } = overconfident(6000, 5, 2.5, 7);
    const T = fitTemperature(logits, targets, 5);
    expect(T).toBeGreaterThan(2.2);
    expect(T).toBeLessThan(2.8);
    const before = logitsEce(logits, targets, 5, 1);
    const after = logitsEce(logits, targets, 5, T);
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.03);
  });
  it('keeps T = 1 for a calibrated model or too few rows', () => {
    const calibrated = overconfident(6000, 5, 1, 8);
    expect(Math.abs(fitTemperature(calibrated.logits, calibrated.targets, 5) - 1)).toBeLessThan(0.1);
    const few = overconfident(10, 5, 3, 9);
    expect(fitTemperature(few.logits, few.targets, 5)).toBe(1);
  });
});
