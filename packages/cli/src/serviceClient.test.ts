import { DependencyDown } from '@flywheel/runtime';
import { describe, expect, it } from 'vitest';
import { ServiceRefused } from './cliErrors.js';
import { createServiceCall } from './serviceClient.js';

type Seen = { url: string; init: RequestInit };
const fakeFetch = (answer: () => Response, seen: Seen[] = []): typeof fetch =>
  (async (url: string | URL | Request, init?: RequestInit) => {
    seen.push({ url: String(url), init: init ?? {} });
    return answer();
  }) as typeof fetch;
const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('createServiceCall', () => {
  it('sends JSON with X-Api-Key on public routes and a Bearer token on admin routes', async () => {
    const seen: Seen[] = [];
    const call = createServiceCall({ service: 'feedback-ingest', baseUrl: 'http://h:1/', apiKey: 'k'.repeat(16), adminToken: 't'.repeat(16) }, fakeFetch(() => json(202, { ok: 1 }), seen));
    expect(await call('POST', '/v1/feedback/batch', { body: { items: [] }, headers: { 'idempotency-key': 'x' } })).toEqual({ ok: 1 });
    await call('POST', '/v1/admin/models/m/retrain', { admin: true, body: { reason: 'r' } });
    const h0 = seen[0]!.init.headers as Record<string, string>;
    const h1 = seen[1]!.init.headers as Record<string, string>;
    expect(seen[0]!.url).toBe('http://h:1/v1/feedback/batch');
    expect(h0['x-api-key']).toBe('k'.repeat(16));
    expect(h0['idempotency-key']).toBe('x');
    expect(h0['content-type']).toBe('application/json');
    expect(h0.authorization).toBeUndefined();
    expect(h1.authorization).toBe(`Bearer ${'t'.repeat(16)}`);
  });
  it('falls back to the admin token (every scope) when no client key is set', async () => {
    const seen: Seen[] = [];
    const call = createServiceCall({ service: 'serving', baseUrl: 'http://h:1', adminToken: 't'.repeat(16) }, fakeFetch(() => json(200, { ok: 1 }), seen));
    await call('POST', '/v1/models/m/predict', { body: { text: 'x' } });
    const h = seen[0]!.init.headers as Record<string, string>;
    expect(h.authorization).toBe(`Bearer ${'t'.repeat(16)}`);
    expect(h['x-api-key']).toBeUndefined();
  });
  it("turns a 4xx into ServiceRefused carrying the service's message", async () => {
    const call = createServiceCall({ service: 'serving', baseUrl: 'http://h:1' }, fakeFetch(() => json(404, { error: { code: 'not_found', message: 'model "x" is not served here' } })));
    const err = await call('POST', '/v1/models/x/predict', { body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceRefused);
    expect((err as ServiceRefused).status).toBe(404);
    expect((err as Error).message).toContain('model "x" is not served here');
  });
  it('turns a 5xx or no answer into DependencyDown (retry later)', async () => {
    const down = createServiceCall({ service: 'serving', baseUrl: 'http://h:1' }, fakeFetch(() => json(503, { error: { code: 'unavailable', message: 'starting' } })));
    await expect(down('GET', '/v1/models')).rejects.toBeInstanceOf(DependencyDown);
    const gone = createServiceCall({ service: 'serving', baseUrl: 'http://h:1' }, (async () => { throw new TypeError('fetch failed'); }) as typeof fetch);
    await expect(gone('GET', '/v1/models')).rejects.toThrow(/did not answer.*fetch failed/);
  });
  it('refuses an admin call without ADMIN_TOKEN before sending anything', async () => {
    const seen: Seen[] = [];
    const call = createServiceCall({ service: 'feedback-ingest', baseUrl: 'http://h:1' }, fakeFetch(() => json(200, {}), seen));
    await expect(call('POST', '/v1/admin/models/m/retrain', { admin: true })).rejects.toThrow(/ADMIN_TOKEN/);
    expect(seen).toHaveLength(0);
  });
});
