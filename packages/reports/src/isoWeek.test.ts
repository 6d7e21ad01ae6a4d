import { describe, expect, it } from 'vitest';
import { isoWeekOf, isoWeekStart, previousIsoWeek } from './isoWeek.js';

describe('ISO weeks (UTC)', () => {
  it('names weeks as ISO 8601 does, across year ends', () => {
    expect(isoWeekOf(new Date('2026-12-01T17:00:00Z'))).toBe('2026-W49'); // a Tuesday
    expect(isoWeekOf(new Date('2021-01-03T12:00:00Z'))).toBe('2020-W53'); // Sunday of the 53rd week of 2020
    expect(isoWeekOf(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01'); // Monday that belongs to 2025
    expect(isoWeekOf(new Date('2026-01-01T00:00:00Z'))).toBe('2026-W01'); // a Thursday
  });
  it('starts weeks on Monday 00:00 UTC; the previous week is the last complete one', () => {
    expect(isoWeekStart(new Date('2026-12-06T23:59:59Z')).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    const w = previousIsoWeek(new Date('2026-12-01T17:00:00Z'));
    expect(w).toEqual({ week: '2026-W48', from: new Date('2026-11-23T00:00:00Z'), to: new Date('2026-11-30T00:00:00Z') });
  });
});
