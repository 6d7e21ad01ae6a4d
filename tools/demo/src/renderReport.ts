import { escapeHtml as esc, lineChart, type ChartSeries } from '@flywheel/reports';
import type { DriftPoint, TimelineEvent } from './createEventObserver.js';
import type { StageResult } from './runScenario.js';

/** What the report page shows; built from a run (or from fixtures in tests). */
export interface ReportData {
  title: string;
  model: string;
  generatedAt: string;
  newLabel: string;
  stages: StageResult[];
  /** Accuracy per model version/variant over time (0..1). */
  accuracy: ChartSeries[];
  drift: DriftPoint[];
  timeline: TimelineEvent[];
  /** Headline numbers, shown as cards. */
  headline: { label: string; value: string }[];
}

// Charts come from @flywheel/reports (x in seconds since the start here, its default axis format).
export { lineChart };
export type { ChartPoint, ChartSeries } from '@flywheel/reports';

const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

/** The whole report page: self-contained HTML (inline CSS and SVG, no scripts, nothing fetched). */
export const renderReport = (d: ReportData): string => {
  const markers = d.timeline.filter((e) => e.kind === 'stage').map((e) => ({ x: e.t / 1000, label: e.title }));
  const driftSeries: ChartSeries[] = [];
  const versions = [...new Set(d.drift.map((p) => p.version))];
  for (const v of versions) {
    const pts = d.drift.filter((p) => p.version === v);
    driftSeries.push({ name: `PSI ${v}`, points: pts.map((p) => ({ x: p.t / 1000, y: p.psi })) });
    const acc = pts.filter((p) => p.accuracyDrop !== undefined);
    if (acc.length > 0) driftSeries.push({ name: `accuracy drop ${v}`, points: acc.map((p) => ({ x: p.t / 1000, y: Math.max(0, p.accuracyDrop ?? 0) })) });
  }
  const stageRows = d.stages.map((s) => `<tr><td>${esc(s.stage)}</td><td class="num">${s.seconds.toFixed(1)}</td><td class="num">${pct(s.accuracyBefore)}</td><td class="num">${pct(s.accuracyAfter)}</td><td class="num">${s.oldBefore === undefined && s.oldAfter === undefined ? '–' : `${pct(s.oldBefore)} → ${pct(s.oldAfter)}`}</td><td>${esc(s.note)}</td></tr>`).join('');
  const timelineRows = d.timeline.map((e) => `<li class="ev ${e.kind}"><span class="t">${(e.t / 1000).toFixed(1)} s</span> <b>${esc(e.title)}</b>${e.detail ? ` <span class="d">${esc(e.detail.slice(0, 300))}</span>` : ''}</li>`).join('');
  const cards = d.headline.map((h) => `<div class="card"><div class="v">${esc(h.value)}</div><div class="l">${esc(h.label)}</div></div>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#111827;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.sub{color:#6b7280}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .l{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;font-size:13px}.num{text-align:right;font-variant-numeric:tabular-nums}
ul.timeline{list-style:none;padding:0}.ev{padding:3px 0;border-left:3px solid #e5e7eb;padding-left:8px;margin:2px 0}.ev .t{color:#6b7280;display:inline-block;width:64px}
.ev.trigger{border-color:#ea580c}.ev.training{border-color:#9333ea}.ev.model-update{border-color:#16a34a}.ev.drift{border-color:#dc2626}.ev.stage{border-color:#2563eb}.ev .d{color:#6b7280}
svg{max-width:100%;height:auto;border:1px solid #f3f4f6;border-radius:6px}
</style></head><body>
<h1>${esc(d.title)}</h1>
<div class="sub">model <b>${esc(d.model)}</b> · new category <b>${esc(d.newLabel)}</b> · ${esc(d.generatedAt)}</div>
<div class="cards">${cards}</div>
<h2>Stages</h2>
<table><thead><tr><th>stage</th><th class="num">seconds</th><th class="num">accuracy before</th><th class="num">accuracy after</th><th class="num">old categories</th><th>note</th></tr></thead><tbody>${stageRows}</tbody></table>
<h2>Accuracy per variant over time</h2>
${lineChart({ id: 'accuracy', series: d.accuracy, yMax: 1, yLabel: 'accuracy (live traffic)', markers })}
<h2>Drift scores per window</h2>
${lineChart({ id: 'drift', series: driftSeries, yLabel: 'PSI / accuracy drop', markers })}
<h2>Timeline</h2>
<ul class="timeline">${timelineRows}</ul>
</body></html>
`;
};
