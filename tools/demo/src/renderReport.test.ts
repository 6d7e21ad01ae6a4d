import { describe, expect, it } from 'vitest';
import { lineChart, renderReport } from './renderReport.js';
import { fixtureReport } from './testing/fixtureReport.js';

describe('renderReport', () => {
  it('draws one circle per data point and one path per multi-point series', () => {
    const svg = lineChart({ id: 't', yMax: 1, yLabel: 'acc', series: [{ name: 'a', points: [{ x: 0, y: 0.5 }, { x: 10, y: 0.9 }] }, { name: 'b', points: [{ x: 5, y: 0.2 }] }] });
    expect(svg.match(/<circle class="pt"/g)).toHaveLength(3);
    expect(svg.match(/<path class="series"/g)).toHaveLength(1);
    expect(svg).toContain('data-chart="t"');
  });

  it('is self-contained: no scripts and nothing fetched from the network', () => {
    const html = renderReport(fixtureReport());
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain('data-chart="accuracy"');
    expect(html).toContain('data-chart="drift"');
    expect(html).toContain('bad version → automatic rollback');
  });

  it('escapes text from events', () => {
    const r = fixtureReport();
    r.timeline.push({ t: 1, kind: 'stage', title: '<img src=x onerror=alert(1)>' });
    expect(renderReport(r)).not.toContain('<img src=x');
  });
});
