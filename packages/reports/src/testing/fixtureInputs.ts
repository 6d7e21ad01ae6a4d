import type { WeeklyReportInputs, WindowInput } from '../buildWeeklyReport.js';

const window = (end: string, level: WindowInput['level'], psi: number, estimated?: number): WindowInput => ({
  modelVersion: '1.1.0', windowStart: new Date(Date.parse(end) - 3_600_000).toISOString(), windowEnd: end, predictions: 1000, labelled: 120,
  level, triggeredRetraining: level === 'significant',
  measurements: [
    { feature: 'hashed_tokens', test: 'psi', effectSize: psi, level: psi >= 0.25 ? 'significant' : psi >= 0.1 ? 'warn' : 'none' },
    { feature: 'text_length', test: 'ks', effectSize: psi / 3, level: 'none' },
  ],
  ...(estimated === undefined ? {} : { estimatedAccuracy: estimated }),
});

/**
 * One week of a model (ISO week 2026-W48): 4 drift windows (one outside the week), 6 days of
 * feedback, an experiment that promoted 1.2.0, then a rollback to 1.1.0, 3 confused pairs, one
 * label waiting and one accepted.
 */
export const fixtureInputs = (o: { estimated?: boolean } = {}): WeeklyReportInputs => {
  const est = (x: number): number | undefined => (o.estimated === false ? undefined : x);
  return {
    model: 'tickets',
    from: new Date('2026-11-23T00:00:00Z'),
    to: new Date('2026-11-30T00:00:00Z'),
    generatedAt: new Date('2026-11-30T01:00:00Z'),
    isoWeek: '2026-W48',
    windows: {
      ok: true,
      value: [
        window('2026-11-22T20:00:00Z', 'none', 0.01, est(0.9)), // the week before: left out
        window('2026-11-24T10:00:00Z', 'none', 0.03, est(0.91)),
        window('2026-11-26T10:00:00Z', 'warn', 0.14, est(0.86)),
        window('2026-11-28T10:00:00Z', 'significant', 0.31, est(0.79)),
      ],
    },
    outcomes: {
      ok: true,
      value: [
        { day: '2026-11-23', n: 100, correct: 92 }, { day: '2026-11-24', n: 80, correct: 73 }, { day: '2026-11-25', n: 90, correct: 80 },
        { day: '2026-11-26', n: 120, correct: 100 }, { day: '2026-11-27', n: 110, correct: 85 }, { day: '2026-11-28', n: 100, correct: 76 },
        { day: '2026-11-30', n: 50, correct: 45 }, // the week after: left out
      ],
    },
    confusions: {
      ok: true,
      value: [
        { predicted: 'billing', corrected: 'refund', count: 31 }, { predicted: 'login', corrected: 'account', count: 12 },
        { predicted: 'other', corrected: 'refund', count: 5 }, { predicted: 'billing', corrected: 'billing', count: 3 },
      ],
    },
    history: {
      ok: true,
      value: [
        { at: new Date('2026-11-20T09:00:00Z'), version: '1.1.0', fromStatus: 'challenger', toStatus: 'champion', actor: 'ab-router', reason: 'won' },
        { at: new Date('2026-11-25T12:00:00Z'), version: '1.2.0', fromStatus: 'challenger', toStatus: 'champion', actor: 'ab-router', reason: 'significant improvement' },
        { at: new Date('2026-11-27T15:00:00Z'), version: '1.2.0', fromStatus: 'champion', toStatus: 'rolled_back', actor: 'ab-router', reason: 'accuracy fell 6 points' },
        { at: new Date('2026-11-27T15:00:00Z'), version: '1.1.0', fromStatus: 'archived', toStatus: 'champion', actor: 'ab-router', reason: 'rollback' },
      ],
    },
    experiments: {
      ok: true,
      value: [
        {
          id: 'e1', championVersion: '1.1.0', challengerVersion: '1.2.0', state: 'promoted', startedAt: '2026-11-23T08:00:00.000Z', decidedAt: '2026-11-25T12:00:00.000Z',
          decision: { decision: 'promote' }, totals: { champion: { n: 1200, successes: 1092 }, challenger: { n: 140, successes: 131 } },
        },
        { id: 'e0', championVersion: '1.0.0', challengerVersion: '1.1.0', state: 'promoted', startedAt: '2026-11-10T08:00:00.000Z', decidedAt: '2026-11-20T09:00:00.000Z', decision: null },
      ],
    },
    labels: {
      ok: true,
      value: [
        { label: 'shipping-delay', reports: 14, pendingItems: 14, firstSeen: '2026-11-26T08:00:00.000Z', acceptedAt: null },
        { label: 'refund', reports: 40, pendingItems: 0, firstSeen: '2026-10-01T08:00:00.000Z', acceptedAt: '2026-10-02T08:00:00.000Z' },
      ],
    },
  };
};
