import { describe, expect, it } from 'vitest';
import { checkGates } from './gates.js';

const gates = { minAccuracy: 0.8, maxForgetting: 0.05, minImprovement: 0 };

describe('checkGates', () => {
  it('passes a candidate that is accurate, does not forget and beats the champion', () => {
    expect(checkGates({ accuracy: 0.9, championAccuracy: 0.85, forgetting: 0.01 }, gates)).toEqual([]);
  });
  it('names every gate a candidate fails', () => {
    const reasons = checkGates({ accuracy: 0.7, championAccuracy: 0.75, forgetting: 0.2 }, gates);
    expect(reasons).toHaveLength(3);
    expect(reasons.join(' ')).toMatch(/accuracy 70.00% is below the minimum 80.00%.*forgetting 20.00%.*improvement -5.00%/);
  });
  it('lets a score that equals a limit pass, though floating point puts it a hair past', () => {
    // 0.75 − 0.8 and 0.8 − 0.65 are −0.05000000000000004 and 0.15000000000000002: a CI run rejected
    // such a candidate with "improvement -5.00% … is below the minimum -5.00%".
    expect(0.75 - 0.8 < -0.05 && 0.8 - 0.65 > 0.15).toBe(true);
    expect(checkGates({ accuracy: 0.75, championAccuracy: 0.8, forgetting: 0.8 - 0.65 }, { minAccuracy: 0.75, maxForgetting: 0.15, minImprovement: -0.05 })).toEqual([]);
    expect(checkGates({ accuracy: 0.7499, championAccuracy: 0.8, forgetting: 0.1501 }, { minAccuracy: 0.75, maxForgetting: 0.15, minImprovement: -0.05 })).toHaveLength(3);
  });
});
