import { describe, expect, it } from 'vitest';
import { buildWeeklyReport } from './buildWeeklyReport.js';
import { fixtureInputs } from './testing/fixtureInputs.js';
import { WeeklyReport } from './WeeklyReport.js';

describe('buildWeeklyReport', () => {
  const r = buildWeeklyReport(fixtureInputs());

  it('keeps what happened in the period [from, to) and nothing else', () => {
    expect(r.windows.map((w) => w.windowEnd)).toEqual(['2026-11-24T10:00:00Z', '2026-11-26T10:00:00Z', '2026-11-28T10:00:00Z']);
    expect(r.accuracy.realisedDaily.map((d) => d.day)).toEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28']);
    expect(r.experiments.map((e) => e.id)).toEqual(['e1']); // e0 was decided before the week
    expect(r.modelChanges.map((c) => `${c.action} ${c.version}`)).toEqual(['promoted 1.2.0', 'rolled_back 1.2.0', 'promoted 1.1.0']);
  });

  it('keeps the days a rolling period only partly covers (a report made just after midnight UTC)', () => {
    const base = fixtureInputs();
    const rolling = buildWeeklyReport({ ...base, from: new Date('2026-11-23T00:08:00Z'), to: new Date('2026-11-30T00:08:00Z') });
    expect(rolling.accuracy.realisedDaily.map((d) => d.day)).toEqual(['2026-11-23', '2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-28', '2026-11-30']);
  });

  it('computes accuracies, verdicts, decisions, confusions and waiting labels', () => {
    expect(r.accuracy.realisedDaily[0]).toEqual({ day: '2026-11-23', n: 100, correct: 92, accuracy: 0.92 });
    expect(r.accuracy.estimatedAvailable).toBe(true);
    expect(r.windows[2]).toMatchObject({ level: 'significant', triggeredRetraining: true, estimatedAccuracy: 0.79, realisedAccuracy: null, effects: { psi: 0.31 } });
    expect(r.windows[2]!.findings).toEqual(['hashed_tokens psi=0.310 (significant)']);
    expect(r.experiments[0]).toMatchObject({ decision: 'promote', detail: 'champion 91.0% (n=1200) · challenger 93.6% (n=140)' });
    // A "confusion" of a label with itself is a confirmation, not a confusion.
    expect(r.confusedPairs).toEqual([
      { predicted: 'billing', corrected: 'refund', count: 31 }, { predicted: 'login', corrected: 'account', count: 12 }, { predicted: 'other', corrected: 'refund', count: 5 },
    ]);
    expect(r.waitingLabels.map((l) => l.label)).toEqual(['shipping-delay']);
    expect(r.period).toEqual({ from: '2026-11-23T00:00:00.000Z', to: '2026-11-30T00:00:00.000Z', isoWeek: '2026-W48' });
  });

  it('is its own JSON twin: the schema parses what it builds', () => {
    expect(WeeklyReport.parse(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('says which sources failed and shows realised accuracy only when no window carries an estimate', () => {
    const i = fixtureInputs({ estimated: false });
    const failed = buildWeeklyReport({ ...i, experiments: { ok: false, note: 'AB_ROUTER_URL is not set' } });
    expect(failed.sources.experiments).toEqual({ ok: false, note: 'AB_ROUTER_URL is not set' });
    expect(failed.sources.drift).toEqual({ ok: true });
    expect(failed.experiments).toEqual([]);
    expect(failed.accuracy.estimatedAvailable).toBe(false);
    expect(failed.windows.every((w) => w.estimatedAccuracy === null)).toBe(true);
  });
});
