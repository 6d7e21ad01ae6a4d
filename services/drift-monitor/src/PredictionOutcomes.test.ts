import { describe, expect, it } from 'vitest';
import { PredictionOutcomes } from './PredictionOutcomes.js';

const fresh = () => ({ n: 0, successes: 0 });

describe('PredictionOutcomes', () => {
  it('counts only the receiving client or a trusted one, once per prediction', () => {
    const outcomes = new PredictionOutcomes();
    const w = fresh();
    outcomes.remember('p1', w, 'app');
    // Another standard client's verdict on app's answer changes nothing, and does not use up the slot.
    expect(outcomes.attribute('p1', false, { client: 'mallory', trusted: false })).toBe(false);
    expect(outcomes.attribute('p1', true, { client: 'app', trusted: false })).toBe(true);
    expect(outcomes.attribute('p1', false, { client: 'app', trusted: false })).toBe(false); // once
    expect(w).toEqual({ n: 1, successes: 1 });
    outcomes.remember('p2', w, 'app');
    expect(outcomes.attribute('p2', false, { client: 'reviewer', trusted: true })).toBe(true);
    expect(w).toEqual({ n: 2, successes: 1 });
  });

  it('takes only trusted verdicts for a prediction without a client', () => {
    const outcomes = new PredictionOutcomes();
    const w = fresh();
    outcomes.remember('p', w);
    expect(outcomes.attribute('p', false, { client: undefined, trusted: false })).toBe(false);
    expect(outcomes.attribute('p', false, { client: 'reviewer', trusted: true })).toBe(true);
    expect(w).toEqual({ n: 1, successes: 0 });
  });
});
