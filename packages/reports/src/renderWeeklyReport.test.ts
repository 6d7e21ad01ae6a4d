import { describe, expect, it } from 'vitest';
import { buildWeeklyReport } from './buildWeeklyReport.js';
import { renderWeeklyReport } from './renderWeeklyReport.js';
import { fixtureInputs } from './testing/fixtureInputs.js';

const chart = (html: string, id: string): string => new RegExp(`<svg[^>]*data-chart="${id}"[\\s\\S]*?</svg>`).exec(html)?.[0] ?? '';

describe('renderWeeklyReport', () => {
  const html = renderWeeklyReport(buildWeeklyReport(fixtureInputs()));

  it('draws realised accuracy per day and estimated accuracy per window, with the champion changes as markers', () => {
    const accuracy = chart(html, 'accuracy');
    expect(accuracy.match(/<circle class="pt" data-series="realised \(daily\)"/g)).toHaveLength(6);
    expect(accuracy.match(/<circle class="pt" data-series="estimated \(CBPE\)"/g)).toHaveLength(3);
    expect(accuracy.match(/<line class="marker"/g)).toHaveLength(3);
    expect(accuracy).toContain('rolled back to 1.2.0');
    expect(html).not.toContain('id="no-estimate"');
  });

  it('lists verdicts, decisions, changes, confusions and waiting labels', () => {
    expect(html).toContain('<span class="lvl significant">significant</span>');
    expect(html).toContain('1.1.0 vs 1.2.0');
    expect(chart(html, 'confusion').match(/<rect class="bar"/g)).toHaveLength(3);
    expect(html).toContain('billing → refund');
    expect(html).toContain('shipping-delay');
    expect(html).not.toContain('<script');
  });

  it('says so when there is no estimated accuracy, and when a source failed', () => {
    const i = fixtureInputs({ estimated: false });
    const page = renderWeeklyReport(buildWeeklyReport({ ...i, labels: { ok: false, note: 'FEEDBACK_URL is not set' } }));
    expect(page).toContain('id="no-estimate"');
    expect(chart(page, 'accuracy')).not.toContain('estimated (CBPE)');
    expect(page).toContain('Not available: FEEDBACK_URL is not set.');
  });

  it('escapes what people typed (labels, reasons)', () => {
    const i = fixtureInputs();
    const page = renderWeeklyReport(buildWeeklyReport({ ...i, labels: { ok: true, value: [{ label: '<img src=x>', reports: 1, pendingItems: 1, firstSeen: '2026-11-26T08:00:00.000Z', acceptedAt: null }] } }));
    expect(page).toContain('&lt;img src=x&gt;');
    expect(page).not.toContain('<img src=x>');
  });
});
