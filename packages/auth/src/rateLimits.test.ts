import { describe, expect, it } from 'vitest';
import { leaseOf } from './rateLimits.js';

describe('leaseOf', () => {
  it('counts small budgets one request at a time and leases 1% of large ones, at most 100', () => {
    expect([1, 3, 60, 199].map(leaseOf)).toEqual([1, 1, 1, 1]);
    expect([200, 1_000, 6_000, 60_000, 1_000_000_000].map(leaseOf)).toEqual([2, 10, 60, 100, 100]);
  });
});
