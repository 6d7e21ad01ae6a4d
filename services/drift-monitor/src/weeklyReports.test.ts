import { describe, expect, it } from 'vitest';
import type { ObjectStore } from '@flywheel/objectstore';
import { WeeklyReport } from '@flywheel/reports';
import { createLogger } from '@flywheel/runtime';
import type { ReportHistory } from './ReportHistory.js';
import { createWeeklyReports, timestampName, type ReportRegistry } from './weeklyReports.js';

/** An in-memory bucket. */
class MemoryStore implements ObjectStore {
  readonly bucket = 'mem';
  readonly objects = new Map<string, string>();
  puts = 0;
  async put(key: string, body: Uint8Array | string): Promise<void> { this.puts++; this.objects.set(key, typeof body === 'string' ? body : Buffer.from(body).toString()); }
  async get(key: string): Promise<Buffer> { return Buffer.from(this.objects.get(key) ?? ''); }
  async exists(key: string): Promise<boolean> { return this.objects.has(key); }
  async list(prefix: string): Promise<string[]> { return [...this.objects.keys()].filter((k) => k.startsWith(prefix)); }
  async remove(keys: readonly string[]): Promise<void> { for (const k of keys) this.objects.delete(k); }
}

const history: ReportHistory = {
  recordWindow: async () => {}, recordFeedback: async () => {}, prune: async () => 0,
  windows: async () => [{
    modelVersion: '1.0.0', windowStart: '2026-11-27T09:00:00.000Z', windowEnd: '2026-11-27T10:00:00.000Z', predictions: 500, labelled: 50, level: 'warn', triggeredRetraining: false,
    measurements: [{ feature: 'hashed_tokens', test: 'psi', effectSize: 0.12, level: 'warn' }], realisedAccuracy: 0.9,
  }],
  outcomesByDay: async () => [{ day: '2026-11-27', n: 10, correct: 9 }],
  confusions: async () => [{ predicted: 'a', corrected: 'b', count: 4 }],
};
const registry: ReportRegistry = { listModels: async () => [{ model: 'm1' }, { model: 'm2' }], history: async () => [] };
const logger = createLogger({ service: 'test', level: 'silent' });
const TUESDAY = new Date('2026-12-01T17:00:00Z');

describe('weekly reports', () => {
  it('stores last ISO week of every model once: later checks and a restarted process skip the week', async () => {
    const store = new MemoryStore();
    const reports = createWeeklyReports({ history, registry, store, logger, now: () => TUESDAY });
    expect(await reports.runWeekly()).toEqual(['m1', 'm2']);
    expect([...store.objects.keys()].sort()).toEqual(['reports/m1/2026-W48.html', 'reports/m1/2026-W48.json', 'reports/m2/2026-W48.html', 'reports/m2/2026-W48.json']);
    const puts = store.puts;
    expect(await reports.runWeekly()).toEqual([]);
    const restarted = createWeeklyReports({ history, registry, store, logger, now: () => new Date('2026-12-06T23:00:00Z') }); // same week, new process
    expect(await restarted.runWeekly()).toEqual([]);
    expect(store.puts).toBe(puts);
    // The next week is a new report.
    const nextWeek = createWeeklyReports({ history, registry, store, logger, now: () => new Date('2026-12-07T00:30:00Z') });
    expect(await nextWeek.runWeekly()).toEqual(['m1', 'm2']);
    expect(await store.exists('reports/m1/2026-W49.json')).toBe(true);
  });

  it('writes the page and its JSON twin; sources that are not configured or fail are named in it', async () => {
    const store = new MemoryStore();
    const reports = createWeeklyReports({
      history, registry, store, logger, now: () => TUESDAY,
      labels: { labels: async () => { throw new Error('connection refused'); } },
    });
    const made = await reports.generateSince('m1', 7 * 86_400_000);
    expect(made.name).toBe(timestampName(TUESDAY));
    expect(made.name).toBe('2026-12-01T170000Z');
    const json = WeeklyReport.parse(JSON.parse(store.objects.get(made.json) ?? ''));
    expect(json).toEqual(made.report);
    expect(json.period).toEqual({ from: '2026-11-24T17:00:00.000Z', to: '2026-12-01T17:00:00.000Z' });
    expect(json.sources.experiments).toEqual({ ok: false, note: 'ABROUTER_URL is not set on the drift-monitor' });
    expect(json.sources.labels).toEqual({ ok: false, note: 'feedback-ingest: connection refused' });
    expect(json.windows).toHaveLength(1);
    expect(json.accuracy.realisedDaily).toEqual([{ day: '2026-11-27', n: 10, correct: 9, accuracy: 0.9 }]);
    expect(json.confusedPairs).toEqual([{ predicted: 'a', corrected: 'b', count: 4 }]);
    expect(store.objects.get(made.html)).toContain('data-chart="accuracy"');
    expect(await reports.list('m1')).toEqual([{ name: made.name, html: made.html, json: made.json }]);
    expect((await reports.read('m1', `${made.name}.json`)).toString()).toBe(store.objects.get(made.json));
    await expect(reports.read('m1', 'nope.json')).rejects.toThrow(/no report file nope.json/);
  });
});
