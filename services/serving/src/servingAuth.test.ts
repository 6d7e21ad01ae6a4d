import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLOOD_LIMIT, startFakeServing, withKey } from './testing/fakeServing.js';

const PREDICT_ROUTES = [
  ['predict', { text: 'hello' }],
  ['predict:batch', { items: [{ text: 'hello' }] }],
  ['predict/batch', { items: [{ text: 'hello' }] }],
] as const;

/** A POST whose body is sent chunked, without Content-Length (fetch always declares the length of a string). */
const postChunked = (url: string, key: string, chunks: readonly string[]): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...withKey(key), 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });

// Keys, scopes, what each key sees, body limits and rate limits, on both transports.
describe.each([['express', false], ['fast path', true]] as const)('serving access control (%s)', (_name, fastPath) => {
  let s: Awaited<ReturnType<typeof startFakeServing>>;
  beforeAll(async () => {
    s = await startFakeServing({ fastPath });
  });
  afterAll(async () => {
    await s?.stop();
  });
  const post = (path: string, body: unknown, key?: string) => fetch(`${s.base}${path}`, { method: 'POST', headers: withKey(key), body: JSON.stringify(body) });
  const get = (path: string, key?: string) => fetch(`${s.base}${path}`, { headers: withKey(key) });

  it('answers 401 with WWW-Authenticate on every route without a key or with an unknown one, and logs nothing', async () => {
    const before = s.recorded.length;
    for (const [path, body] of PREDICT_ROUTES) {
      const none = await post(`/v1/models/shop/${path}`, body);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate'), path).toBe('Bearer realm="flywheel"');
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('missing_key');
      const bad = await post(`/v1/models/shop/${path}`, body, 'not-a-key');
      expect(bad.status, path).toBe(401);
      expect(bad.headers.get('www-authenticate'), path).toContain('invalid_token');
    }
    for (const path of ['/v1/models', '/v1/models/shop', '/v1/models/nope', '/v1/anything']) expect((await get(path)).status, path).toBe(401);
    expect(s.recorded.length).toBe(before);
  });

  it('answers 403 to a key without the predict scope', async () => {
    for (const [path, body] of PREDICT_ROUTES) {
      const r = await post(`/v1/models/shop/${path}`, body, 'reviewer-key');
      expect(r.status, path).toBe(403);
      expect(r.headers.get('www-authenticate'), path).toContain('insufficient_scope');
      expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'missing_scope', message: expect.stringContaining('"predict"') });
    }
    expect((await get('/v1/models/shop', 'reviewer-key')).status).toBe(403);
  });

  it('leaves /healthz, /readyz and /metrics open', async () => {
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${s.base}/readyz`)).status);
    expect((await fetch(`${s.base}/metrics`)).status).toBe(200);
  });

  it('shows a predict-only key the model, readiness and champion version and labels, and no routing internals', async () => {
    const one = (await (await get('/v1/models/shop', 'web-key')).json()) as Record<string, unknown>;
    expect(one).toEqual({ model: 'shop', ready: true, champion: { version: '1.0.0', labels: ['alpha', 'beta', 'gamma'] } });
    const list = await (await get('/v1/models', 'web-key')).text();
    for (const secret of ['salt', 'secret-salt', 'routing', 'challenger', '1.0.1', 'standby', 'loaded', 'lastSwap', 'experimentId']) expect(list).not.toContain(secret);
    // The answers carry the version and arm (clients report outcomes with them), never the salt or the experiment.
    const answer = (await (await post('/v1/models/shop/predict', { text: 'x', subjectId: 'u-9' }, 'web-key')).json()) as Record<string, unknown>;
    expect(Object.keys(answer).sort()).toEqual(['confidence', 'label', 'modelVersion', 'predictionId', 'variant']);
    expect((await get('/v1/models', 'admin-key')).status).toBe(200);
    expect(await (await get('/v1/models', 'admin-key')).text()).toContain('secret-salt');
  });

  it('refuses a single prediction over 1 MB with 413 before reading it, and accepts batches of several MB as before', async () => {
    const r = await post('/v1/models/shop/predict', { text: 'x'.repeat(1024 * 1024) }, 'web-key');
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    const items = Array.from({ length: 100 }, (_, i) => ({ text: `${'y'.repeat(19_990)}${i}` })); // ~2 MB
    expect((await post('/v1/models/shop/predict:batch', { items }, 'web-key')).status).toBe(200);
    expect((await post('/v1/models/shop/predict:batch', { items: [{ text: 'z'.repeat(13 * 1024 * 1024) }] }, 'web-key')).status).toBe(413);
  });

  it('counts the bytes of a body without Content-Length (fast path: 413 past 1 MB) or asks for the length (express: 411)', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const r = await postChunked(`${s.base}/v1/models/shop/predict`, 'web-key', ['{"text":"', ...Array<string>(20).fill(chunk), '"}']);
    expect(r.status).toBe(fastPath ? 413 : 411);
    // a small chunked body is fine on the fast path
    if (fastPath) expect((await postChunked(`${s.base}/v1/models/shop/predict`, 'web-key', ['{"text":', '"small"}'])).status).toBe(200);
  });

  it(`answers 429 with Retry-After once a client has spent its budget (${FLOOD_LIMIT}), and only that client`, async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < FLOOD_LIMIT + 2; i++) {
      const r = await post('/v1/models/shop/predict', { text: `flood ${i}` }, 'flood-key');
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
      await r.body?.cancel();
    }
    expect(statuses).toEqual([...Array<number>(FLOOD_LIMIT).fill(200), 429, 429]);
    expect(retryAfter).toBe('42');
    expect((await post('/v1/models/shop/predict:batch', { items: [{ text: 'x' }] }, 'flood-key')).status).toBe(429);
    expect((await post('/v1/models/shop/predict', { text: 'not me' }, 'web-key')).status).toBe(200);
  });

  it('does not turn model names it does not serve into metric labels', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `scan-${i}-x`);
    for (const n of names) {
      expect((await post(`/v1/models/${n}/predict`, { text: 'x' }, 'web-key')).status).toBe(404);
      expect((await post(`/v1/models/${n}/predict:batch`, { text: 'not a batch' }, 'web-key')).status).toBe(400);
    }
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    const models = new Set([...metrics.matchAll(/^flywheel_serving_[a-z_]+\{[^}]*model="([^"]*)"/gm)].map((m) => m[1]));
    expect(models.has('(unknown)')).toBe(true);
    for (const m of models) expect(['(unknown)', 'shop', 'broken', 'fresh']).toContain(m);
    for (const n of names) expect(metrics).not.toContain(n);
  });
});
