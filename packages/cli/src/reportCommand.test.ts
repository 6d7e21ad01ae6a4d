import { describe, expect, it } from 'vitest';
import { ServiceRefused, UsageError } from './cliErrors.js';
import { reportCommand } from './reportCommand.js';
import { createServiceCall } from './serviceClient.js';

type Seen = { method: string; url: string; body: unknown; auth: string | null };
const report = {
  model: 'tickets', period: { from: '2026-11-24T17:00:00.000Z', to: '2026-12-01T17:00:00.000Z' }, generatedAt: '2026-12-01T17:00:00.000Z',
  accuracy: { realisedDaily: [{ day: '2026-11-30', n: 100, correct: 91, accuracy: 0.91 }], estimatedAvailable: false },
  windows: [{ level: 'none' }, { level: 'significant' }], experiments: [{}], modelChanges: [{ action: 'promoted' }, { action: 'rolled_back' }],
  confusedPairs: [{ predicted: 'billing', corrected: 'refund', count: 31 }], waitingLabels: [{ label: 'shipping-delay' }],
  sources: { drift: { ok: true }, experiments: { ok: false, note: 'ABROUTER_URL is not set on the drift-monitor' } },
};
const NAME = '2026-12-01T170000Z';

/** The drift-monitor's report routes, faked at the fetch level. */
const driftMonitor = (status = 201) => {
  const seen: Seen[] = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    const s: Seen = { method: init?.method ?? 'GET', url: String(url), body: init?.body === undefined ? undefined : JSON.parse(String(init.body)), auth: new Headers(init?.headers).get('authorization') };
    seen.push(s);
    if (status !== 201) return new Response(JSON.stringify({ error: { code: 'invalid', message: 'since is a number and a unit' } }), { status });
    if (s.method === 'POST') return new Response(JSON.stringify({ name: NAME, html: `reports/tickets/${NAME}.html`, json: `reports/tickets/${NAME}.json`, report }), { status: 201 });
    if (s.url.endsWith('.html')) return new Response('<!doctype html><svg data-chart="accuracy"></svg>', { status: 200, headers: { 'content-type': 'text/html' } });
    return new Response(JSON.stringify(report), { status: 200 });
  }) as typeof fetch;
  const lines: string[] = [];
  const files = new Map<string, string>();
  const deps = {
    drift: createServiceCall({ service: 'drift-monitor', baseUrl: 'http://dm:8083', adminToken: 'a'.repeat(16) }, fetchImpl),
    print: (l: string) => void lines.push(l),
    write: async (file: string, body: string) => void files.set(file, body),
  };
  return { deps, seen, lines, files };
};

describe('flywheel report MODEL', () => {
  it('asks the drift-monitor for a report over --since with the admin token and prints what it says', async () => {
    const { deps, seen, lines, files } = driftMonitor();
    await reportCommand(deps, 'tickets', { since: '36h' });
    expect(seen).toEqual([{ method: 'POST', url: 'http://dm:8083/admin/v1/models/tickets/reports', body: { since: '36h' }, auth: `Bearer ${'a'.repeat(16)}` }]);
    expect(lines.join('\n')).toContain('realised accuracy (last day): 91.0% on 2026-11-30 (no estimated accuracy in the windows: realised only)');
    expect(lines.join('\n')).toContain('drift windows: 2 (1 significant) · experiments: 1 · promotions: 1 · rollbacks: 1');
    expect(lines.join('\n')).toContain('most confused: billing → refund (31)');
    expect(lines.join('\n')).toContain('experiments: not available (ABROUTER_URL is not set on the drift-monitor)');
    expect(files.size).toBe(0);
  });

  it('with --out writes the stored page and JSON twin', async () => {
    const { deps, seen, files } = driftMonitor();
    await reportCommand(deps, 'tickets', { out: 'out' });
    expect((seen[0]!.body as { since: string }).since).toBe('7d');
    expect(seen.slice(1).map((s) => `${s.method} ${s.url}`)).toEqual([
      `GET http://dm:8083/admin/v1/models/tickets/reports/${NAME}.html`, `GET http://dm:8083/admin/v1/models/tickets/reports/${NAME}.json`,
    ]);
    expect(files.get(`out/tickets-${NAME}.html`)).toContain('data-chart="accuracy"');
    expect(JSON.parse(files.get(`out/tickets-${NAME}.json`) ?? '{}')).toEqual(report);
  });

  it('refuses a malformed --since before calling, and passes the service\'s refusal on', async () => {
    const { deps, seen } = driftMonitor();
    await expect(reportCommand(deps, 'tickets', { since: '7 days' })).rejects.toBeInstanceOf(UsageError);
    expect(seen).toEqual([]);
    await expect(reportCommand(driftMonitor(400).deps, 'tickets', { since: '999d' })).rejects.toBeInstanceOf(ServiceRefused);
  });
});
