import { escapeHtml as esc } from './escapeHtml.js';

/** A point of a chart, in the chart's units. */
export interface ChartPoint { x: number; y: number }
export interface ChartSeries { name: string; points: ChartPoint[] }
/** A vertical dashed line at `x` (an event), with `label` as its tooltip. */
export interface ChartMarker { x: number; label: string }

export interface LineChartOptions {
  /** `data-chart` of the svg, so a test (or a reader's script) can find it. */
  id: string;
  series: ChartSeries[];
  yLabel: string;
  /** Fixed top of the y axis; 1 also formats the ticks as percentages. Default: 110 % of the largest y. */
  yMax?: number;
  /** Right end of the x axis (the axis starts at 0). Default: the largest x of the points and markers. */
  xMax?: number;
  /** Tick and tooltip text of an x value. Default: whole seconds (`12 s`). */
  xFormat?: (x: number) => string;
  markers?: ChartMarker[];
}

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#4d7c0f'];
const n2 = (x: number): string => (Math.round(x * 100) / 100).toString();
const seconds = (x: number): string => `${Math.round(x)} s`;

/**
 * An inline SVG line chart (no scripts, no network): one path and one circle per point for each
 * series, axes with ticks, optional vertical markers. `data-chart` and `data-series` let a test
 * find what rendered; each circle's `<title>` is its value.
 */
export const lineChart = (o: LineChartOptions): string => {
  const W = 860, H = 280, L = 52, R = 150, T = 16, B = 36;
  const fx = o.xFormat ?? seconds;
  const all = o.series.flatMap((s) => s.points);
  const xMax = o.xMax ?? Math.max(1, ...all.map((p) => p.x), ...(o.markers ?? []).map((m) => m.x));
  const yMax = o.yMax ?? Math.max(1e-9, ...all.map((p) => p.y)) * 1.1;
  const sx = (x: number): number => L + (Math.min(Math.max(x, 0), xMax) / xMax) * (W - L - R);
  const sy = (y: number): number => T + (1 - Math.min(y, yMax) / yMax) * (H - T - B);
  const parts: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${L}" x2="${W - R}" y1="${n2(sy(y))}" y2="${n2(sy(y))}" stroke="#e5e7eb"/><text x="${L - 6}" y="${n2(sy(y) + 4)}" text-anchor="end" font-size="11" fill="#6b7280">${o.yMax === 1 ? `${Math.round(y * 100)}%` : y.toFixed(2)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const x = (xMax * i) / 5;
    parts.push(`<text x="${n2(sx(x))}" y="${H - B + 16}" text-anchor="middle" font-size="11" fill="#6b7280">${esc(fx(x))}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#9ca3af"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#9ca3af"/>`);
  parts.push(`<text x="14" y="${(H - B) / 2}" transform="rotate(-90 14 ${(H - B) / 2})" text-anchor="middle" font-size="11" fill="#374151">${esc(o.yLabel)}</text>`);
  for (const m of o.markers ?? []) {
    parts.push(`<line class="marker" x1="${n2(sx(m.x))}" x2="${n2(sx(m.x))}" y1="${T}" y2="${H - B}" stroke="#9ca3af" stroke-dasharray="3 3"><title>${esc(m.label)}</title></line>`);
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const pts = [...s.points].sort((a, b) => a.x - b.x);
    if (pts.length > 1) parts.push(`<path class="series" data-series="${esc(s.name)}" d="${pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${n2(sx(p.x))},${n2(sy(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const p of pts) parts.push(`<circle class="pt" data-series="${esc(s.name)}" cx="${n2(sx(p.x))}" cy="${n2(sy(p.y))}" r="3" fill="${color}"><title>${esc(s.name)}: ${p.y.toFixed(3)} at ${esc(fx(p.x))}</title></circle>`);
    parts.push(`<rect x="${W - R + 12}" y="${T + i * 18}" width="10" height="10" fill="${color}"/><text x="${W - R + 28}" y="${T + i * 18 + 9}" font-size="11" fill="#111827">${esc(s.name)}</text>`);
  });
  return `<svg data-chart="${esc(o.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${parts.join('')}</svg>`;
};
