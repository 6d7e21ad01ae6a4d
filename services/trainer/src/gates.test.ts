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
});
