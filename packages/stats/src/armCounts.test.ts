import { describe, expect, it } from 'vitest';
import { assertArmCounts, emptyCounts, mergeCounts, mergeExperimentStats, rateOf, recordOutcome } from './armCounts.js';

describe('arm counters', () => {
  it('record outcomes and merge partial counters', () => {
    let a = emptyCounts();
    a = recordOutcome(recordOutcome(recordOutcome(a, true), false), true);
    expect(a).toEqual({ n: 3, successes: 2 });
    expect(mergeCounts(a, { n: 7, successes: 1 })).toEqual({ n: 10, successes: 3 });
    expect(rateOf({ n: 4, successes: 1 })).toBe(0.25);
    expect(rateOf(emptyCounts())).toBeNaN();
    expect(
      mergeExperimentStats(
        { champion: { n: 1, successes: 1 }, challenger: { n: 2, successes: 0 } },
        { champion: { n: 3, successes: 2 }, challenger: { n: 4, successes: 4 } },
      ),
    ).toEqual({ champion: { n: 4, successes: 3 }, challenger: { n: 6, successes: 4 } });
  });

  it('rejects impossible counters with a message that names them', () => {
    expect(() => assertArmCounts({ n: 2, successes: 3 }, 'challenger')).toThrow(/challenger counters.*successes=3/);
    expect(() => mergeCounts({ n: -1, successes: 0 }, emptyCounts())).toThrow(RangeError);
    expect(() => assertArmCounts({ n: 1.5, successes: 1 })).toThrow(RangeError);
  });
});
