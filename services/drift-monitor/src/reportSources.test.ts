import { describe, expect, it } from 'vitest';
import { httpExperimentSource, httpLabelSource } from './reportSources.js';

const answer = (status: number, body: unknown, seen: { url?: string; auth?: string }) => (async (url: string | URL | Request, init?: RequestInit) => {
  seen.url = String(url);
  const auth = new Headers(init?.headers).get('authorization');
  if (auth !== null) seen.auth = auth;
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}) as typeof fetch;

describe('report sources over the other services\' admin APIs', () => {
  it('reads experiments from the ab-router with the admin key', async () => {
    const seen: { url?: string; auth?: string } = {};
    const src = httpExperimentSource({
      baseUrl: 'http://ab:8085/', token: 't'.repeat(16),
      fetch: answer(200, { experiments: [{ id: 'e', championVersion: '1.0.0', challengerVersion: '1.1.0', state: 'running', startedAt: '2026-11-24T00:00:00.000Z', decidedAt: null, salt: 's', preview: { decision: 'continue', reasons: [] }, totals: { champion: { n: 5, successes: 4 }, challenger: { n: 2, successes: 2 }, assigned: { champion: 5, challenger: 2 } } }] }, seen),
    });
    const [e] = await src.experiments('tickets');
    expect(seen).toEqual({ url: 'http://ab:8085/admin/experiments?model=tickets&limit=1000', auth: `Bearer ${'t'.repeat(16)}` });
    expect(e).toEqual({ id: 'e', championVersion: '1.0.0', challengerVersion: '1.1.0', state: 'running', startedAt: '2026-11-24T00:00:00.000Z', decidedAt: null, decision: undefined, preview: { decision: 'continue' }, totals: { champion: { n: 5, successes: 4 }, challenger: { n: 2, successes: 2 } } });
  });

  it('fails loudly on an error answer, so the report says the section is unavailable', async () => {
    const src = httpExperimentSource({ baseUrl: 'http://ab:8085', token: 'x', fetch: answer(403, { error: {} }, {}) });
    await expect(src.experiments('tickets')).rejects.toThrow(/answered 403/);
  });

  it('reads labels from feedback-ingest; a model it does not know has none', async () => {
    const seen: { url?: string } = {};
    const labels = httpLabelSource({ baseUrl: 'http://fi:8081', token: 'x', fetch: answer(200, { model: 'tickets', labels: [{ label: 'new', reports: 3, pendingItems: 3, firstSeen: '2026-11-24T00:00:00.000Z', acceptedAt: null, reporters: [] }] }, seen) });
    expect(await labels.labels('tickets')).toEqual([{ label: 'new', reports: 3, pendingItems: 3, firstSeen: '2026-11-24T00:00:00.000Z', acceptedAt: null }]);
    expect(seen.url).toBe('http://fi:8081/v1/admin/models/tickets/labels');
    expect(await httpLabelSource({ baseUrl: 'http://fi:8081', token: 'x', fetch: answer(404, {}, {}) }).labels('other')).toEqual([]);
  });
});
