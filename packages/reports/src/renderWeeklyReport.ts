import { barChart } from './barChart.js';
import { escapeHtml as esc } from './escapeHtml.js';
import { lineChart, type ChartMarker, type ChartSeries } from './lineChart.js';
import type { SourceStatus, WeeklyReport } from './WeeklyReport.js';

const DAY = 86_400_000;
const pct = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);
const when = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

/** The note a section shows when its source could not be read. */
const unavailable = (s: SourceStatus): string => (s.ok ? '' : `<p class="warn">Not available: ${esc(s.note ?? 'the source could not be read')}.</p>`);
const table = (head: string[], rows: string[][], empty: string): string => (rows.length === 0
  ? `<p class="sub">${esc(empty)}</p>`
  : `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`);

/**
 * The weekly report page: self-contained HTML (inline CSS and SVG, no scripts, nothing fetched), so
 * it opens from the object store or a mail attachment as it is. Charts: accuracy over time (realised
 * per day; estimated per window when the windows carry it), drift effect sizes per window, and the
 * most confused label pairs. Promotions and rollbacks are markers on both time charts.
 */
export const renderWeeklyReport = (r: WeeklyReport): string => {
  const from = Date.parse(r.period.from);
  const days = Math.max(1, (Date.parse(r.period.to) - from) / DAY);
  const x = (iso: string): number => (Date.parse(iso) - from) / DAY;
  const xFormat = (d: number): string => new Date(from + d * DAY).toISOString().slice(5, 10);
  const markers: ChartMarker[] = r.modelChanges.map((c) => ({ x: x(c.at), label: `${c.action === 'promoted' ? 'promoted' : 'rolled back to'} ${c.version}` }));

  const accuracy: ChartSeries[] = [{ name: 'realised (daily)', points: r.accuracy.realisedDaily.map((d) => ({ x: x(`${d.day}T12:00:00Z`), y: d.accuracy })) }];
  const realisedWindows = r.windows.filter((w) => w.realisedAccuracy !== null);
  if (realisedWindows.length > 0) accuracy.push({ name: 'realised (window)', points: realisedWindows.map((w) => ({ x: x(w.windowEnd), y: w.realisedAccuracy ?? 0 })) });
  if (r.accuracy.estimatedAvailable) {
    accuracy.push({ name: 'estimated (CBPE)', points: r.windows.filter((w) => w.estimatedAccuracy !== null).map((w) => ({ x: x(w.windowEnd), y: w.estimatedAccuracy ?? 0 })) });
  }
  const tests = [...new Set(r.windows.flatMap((w) => Object.keys(w.effects)))].sort();
  const drift: ChartSeries[] = tests.map((t) => ({ name: t, points: r.windows.filter((w) => w.effects[t] !== undefined).map((w) => ({ x: x(w.windowEnd), y: Math.max(0, w.effects[t] ?? 0) })) }));

  const significant = r.windows.filter((w) => w.level === 'significant').length;
  const lastRealised = r.accuracy.realisedDaily.at(-1);
  const cards = [
    { l: 'realised accuracy (last day)', v: lastRealised ? pct(lastRealised.accuracy) : '–' },
    { l: 'drift windows (significant)', v: `${r.windows.length} (${significant})` },
    { l: 'experiments', v: String(r.experiments.length) },
    { l: 'promotions / rollbacks', v: `${r.modelChanges.filter((c) => c.action === 'promoted').length} / ${r.modelChanges.filter((c) => c.action === 'rolled_back').length}` },
    { l: 'labels waiting', v: String(r.waitingLabels.length) },
  ].map((c) => `<div class="card"><div class="v">${esc(c.v)}</div><div class="l">${esc(c.l)}</div></div>`).join('');

  const windowRows = r.windows.map((w) => [
    esc(when(w.windowEnd)), esc(w.modelVersion), `<span class="lvl ${w.level}">${w.level}</span>`, String(w.predictions), String(w.labelled),
    pct(w.realisedAccuracy), pct(w.estimatedAccuracy), w.triggeredRetraining ? 'yes' : '', esc(w.findings.join('; ')),
  ]);
  const experimentRows = r.experiments.map((e) => [
    esc(`${e.championVersion} vs ${e.challengerVersion}`), esc(e.state), esc(e.decision ?? '–'), esc(when(e.startedAt)), esc(e.decidedAt ? when(e.decidedAt) : '–'), esc(e.detail),
  ]);
  const changeRows = r.modelChanges.map((c) => [esc(when(c.at)), c.action === 'promoted' ? 'promoted' : 'rolled back', esc(c.version), esc(c.actor), esc(c.reason.slice(0, 300))]);
  const labelRows = r.waitingLabels.map((l) => [esc(l.label), String(l.reports), String(l.pendingItems), esc(when(l.firstSeen))]);
  const period = r.period.isoWeek ?? `${when(r.period.from)} – ${when(r.period.to)}`;

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`Flywheel weekly report: ${r.model} ${period}`)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#111827;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.sub{color:#6b7280}.warn{color:#b45309}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:150px}
.card .v{font-size:20px;font-weight:600}.card .l{color:#6b7280;font-size:12px}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:6px 8px;text-align:left;font-size:13px;vertical-align:top}
.lvl.significant{color:#dc2626;font-weight:600}.lvl.warn{color:#b45309}
svg{max-width:100%;height:auto;border:1px solid #f3f4f6;border-radius:6px}
</style></head><body>
<h1>${esc(r.model)}: weekly report ${esc(period)}</h1>
<div class="sub">${esc(when(r.period.from))} – ${esc(when(r.period.to))} UTC · generated ${esc(when(r.generatedAt))} UTC</div>
<div class="cards">${cards}</div>
<h2>Accuracy over time</h2>
${unavailable(r.sources.feedback)}${r.accuracy.estimatedAvailable ? '' : '<p class="sub" id="no-estimate">No window of this period carried an estimated accuracy (CBPE): realised accuracy only.</p>'}
${lineChart({ id: 'accuracy', series: accuracy, yMax: 1, xMax: days, xFormat, yLabel: 'accuracy', markers })}
<h2>Drift windows and verdicts</h2>
${unavailable(r.sources.drift)}
${lineChart({ id: 'drift', series: drift, xMax: days, xFormat, yLabel: 'largest effect size per test', markers })}
${table(['window end', 'version', 'verdict', 'predictions', 'labelled', 'realised', 'estimated', 'retraining', 'findings'], windowRows, 'No drift window closed in this period.')}
<h2>Experiments and their decisions</h2>
${unavailable(r.sources.experiments)}
${table(['champion vs challenger', 'state', 'decision', 'started', 'decided', 'arms'], experimentRows, 'No experiment ran in this period.')}
<h2>Promotions and rollbacks</h2>
${unavailable(r.sources.registry)}
${table(['when', 'what', 'version', 'by', 'why'], changeRows, 'The champion did not change in this period.')}
<h2>Most confused label pairs</h2>
${unavailable(r.sources.feedback)}
${barChart({ id: 'confusion', bars: r.confusedPairs.map((p) => ({ label: `${p.predicted} → ${p.corrected}`, value: p.count })), valueLabel: 'corrections' })}
<h2>Proposed labels waiting</h2>
${unavailable(r.sources.labels)}
${table(['label', 'reports', 'items waiting', 'first seen'], labelRows, 'No proposed label is waiting.')}
</body></html>
`;
};
