import { describe, expect, it } from 'vitest';
import { accuraciesOf } from './ReportHistory.js';

describe('accuraciesOf (what a stored window report says about accuracy)', () => {
  it('reads the estimated and realised accuracy of a window report', () => {
    expect(accuraciesOf({ accuracy: { estimated: 0.88, estimatedLower: 0.85, estimatedUpper: 0.9, realised: 0.86, labelled: 120, basis: 'realised' } })).toEqual({ estimated: 0.88, realised: 0.86 });
    expect(accuraciesOf({ accuracy: { estimated: 0.88, labelled: 0, basis: 'estimated' } })).toEqual({ estimated: 0.88 });
    expect(accuraciesOf({ estimatedAccuracy: { accuracy: 0.7 }, realisedAccuracy: 0.6 })).toEqual({ estimated: 0.7, realised: 0.6 });
  });
  it('has nothing for an older report, or one with values that are not rates', () => {
    expect(accuraciesOf({ level: 'none' })).toEqual({});
    expect(accuraciesOf({ accuracy: { estimated: 7 } })).toEqual({});
  });
});
