import type { DriftPoint, TimelineEvent } from './createEventObserver.js';
import type { Observation } from './createTraffic.js';
import type { ReportData, ChartSeries } from './renderReport.js';
import type { ScenarioResult } from './runScenario.js';

/** Accuracy per version and variant in time buckets (buckets with fewer than `minN` answers are skipped). */
export const accuracySeries = (obs: readonly Observation[], bucketMs = 5_000, minN = 5): ChartSeries[] => {
  const groups = new Map<string, Map<number, { n: number; ok: number }>>();
  for (const o of obs) {
    const key = `${o.version} (${o.variant})`;
    const g = groups.get(key) ?? new Map<number, { n: number; ok: number }>();
    const b = Math.floor(o.t / bucketMs);
    const cell = g.get(b) ?? { n: 0, ok: 0 };
    cell.n++;
    if (o.correct) cell.ok++;
    g.set(b, cell);
    groups.set(key, g);
  }
  return [...groups.entries()].map(([name, g]) => ({
    name,
    points: [...g.entries()].filter(([, c]) => c.n >= minN).sort((a, b) => a[0] - b[0]).map(([b, c]) => ({ x: ((b + 0.5) * bucketMs) / 1000, y: c.ok / c.n })),
  })).filter((s) => s.points.length > 0);
};

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/** The report page's data from one run. */
export const buildReportData = (r: ScenarioResult, o: { timeline: TimelineEvent[]; drift: DriftPoint[]; generatedAt: Date }): ReportData => ({
  title: 'Flywheel: the loop on one machine',
  model: r.model,
  generatedAt: o.generatedAt.toISOString(),
  newLabel: r.newLabel,
  stages: r.stages,
  accuracy: accuracySeries(r.observations),
  drift: o.drift,
  timeline: [...o.timeline].sort((a, b) => a.t - b.t),
  headline: [
    { label: 'first misclassification → challenger promoted', value: `${((r.marks.promoted - r.marks.firstShiftMisclassification) / 1000).toFixed(1)} s` },
    { label: 'old-category accuracy before → after', value: `${pct(r.oldAccuracy.before)} → ${pct(r.oldAccuracy.after)}` },
    { label: `"${r.newLabel}" accuracy before → after`, value: `${pct(r.newAccuracy.before)} → ${pct(r.newAccuracy.after)}` },
    { label: 'bad version rolled back in', value: `${((r.marks.rolledBack - r.marks.badPushed) / 1000).toFixed(1)} s` },
    { label: 'predictions / feedback', value: `${r.counts.predictions} / ${r.counts.confirmations + r.counts.misclassifications}` },
  ],
});
