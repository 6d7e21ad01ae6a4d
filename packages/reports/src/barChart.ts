import { escapeHtml as esc } from './escapeHtml.js';

/** One bar: its label and value. */
export interface Bar { label: string; value: number }

/**
 * An inline SVG horizontal bar chart, largest first as given: one `rect.bar` per bar with its
 * label and value beside it. `data-chart` lets a test find it; an empty list renders a note.
 */
export const barChart = (o: { id: string; bars: Bar[]; valueLabel: string }): string => {
  const W = 860, L = 260, R = 70, ROW = 24, T = 8;
  const H = T * 2 + Math.max(1, o.bars.length) * ROW;
  const max = Math.max(1e-9, ...o.bars.map((b) => b.value));
  const parts = o.bars.map((b, i) => {
    const y = T + i * ROW;
    const w = Math.max(1, (b.value / max) * (W - L - R));
    return `<text x="${L - 8}" y="${y + 15}" text-anchor="end" font-size="12" fill="#111827">${esc(b.label)}</text>`
      + `<rect class="bar" data-label="${esc(b.label)}" x="${L}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="#2563eb"><title>${esc(b.label)}: ${b.value} ${esc(o.valueLabel)}</title></rect>`
      + `<text x="${(L + w + 6).toFixed(1)}" y="${y + 15}" font-size="12" fill="#374151">${b.value}</text>`;
  });
  if (o.bars.length === 0) parts.push(`<text x="${L}" y="${T + 15}" font-size="12" fill="#6b7280">none</text>`);
  return `<svg data-chart="${esc(o.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${parts.join('')}</svg>`;
};
