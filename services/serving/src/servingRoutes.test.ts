import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeServing, withKey } from './testing/fakeServing.js';

// Both transports must answer identically: express alone, and the node:http fast path in front of it.
describe.each([['express', false], ['fast path', true]] as const)('serving REST API (%s)', (_name, fastPath) => {
  let s: Awaited<ReturnType<typeof startFakeServing>>;
  beforeAll(async () => {
    s = await startFakeServing({ fastPath });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const post = async (path: string, body: unknown, key = 'web-key') => {
    const r = await fetch(`${s.base}${path}`, { method: 'POST', headers: withKey(key), body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };
  const get = async (path: string, key = 'web-key') => fetch(`${s.base}${path}`, { headers: withKey(key) });

  it('answers one text with label, confidence, version, variant, prediction id and top-k, and logs it with the client', async () => {
    const r = await post('/v1/models/shop/predict', { text: 'hello', subjectId: 'user-1', topK: 2 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ label: 'alpha', modelVersion: expect.stringMatching(/^1\.0\.[01]$/), variant: expect.stringMatching(/champion|challenger/) });
    expect(r.body.confidence).toBeCloseTo(0.9);
    expect(r.body.predictionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.topK.map((t: { label: string }) => t.label)).toEqual(['alpha', 'beta']);
    const logged = s.recorded.find((p) => p.predictionId === r.body.predictionId);
    expect(logged).toMatchObject({ model: 'shop', text: 'hello', subjectId: 'user-1', variant: r.body.variant, modelVersion: r.body.modelVersion, client: 'web' });
    // sticky: the same subject gets the same variant again
    for (let i = 0; i < 5; i++) expect((await post('/v1/models/shop/predict', { text: 'again', subjectId: 'user-1' })).body.variant).toBe(r.body.variant);
  });

  it('answers a batch in order, splitting rows across variants by subject, and logs each row with the client', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ text: `t${i}`, subjectId: `s${i}` }));
    const r = await post('/v1/models/shop/predict:batch', { items }, 'admin-key');
    expect(r.status).toBe(200);
    expect(r.body.predictions).toHaveLength(40);
    const variants = new Set(r.body.predictions.map((p: { variant: string }) => p.variant));
    expect(variants).toEqual(new Set(['champion', 'challenger']));
    for (const p of r.body.predictions) expect(p.modelVersion).toBe(p.variant === 'challenger' ? '1.0.1' : '1.0.0');
    const ids = new Set(r.body.predictions.map((p: { predictionId: string }) => p.predictionId));
    expect(s.recorded.filter((p) => ids.has(p.predictionId)).map((p) => p.client)).toEqual(Array(40).fill('admin'));
    expect((await post('/v1/models/shop/predict/batch', { items: items.slice(0, 2) })).status).toBe(200);
  });

  it('refuses bad input with 400s that name the field', async () => {
    const empty = await post('/v1/models/shop/predict', { text: '' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.issues[0].path).toEqual(['text']);
    expect((await post('/v1/models/shop/predict', { text: 'x'.repeat(20_001) })).status).toBe(400);
    expect((await post('/v1/models/shop/predict', { text: 'ok', topK: 0 })).status).toBe(400);
    const big = await post('/v1/models/shop/predict:batch', { items: Array.from({ length: 257 }, () => ({ text: 'a' })) });
    expect(big.status).toBe(400);
    expect(big.body.error.issues[0].message).toMatch(/at most 256/);
    expect((await post('/v1/models/shop/predict:batch', { items: [] })).status).toBe(400);
    const badJson = await fetch(`${s.base}/v1/models/shop/predict`, { method: 'POST', headers: withKey('web-key'), body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
  });

  it('says 404 for an unknown model (naming the served ones) and 503 for a model without a champion yet', async () => {
    const unknown = await post('/v1/models/nope/predict', { text: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/not served here.*shop/);
    const fresh = await post('/v1/models/fresh/predict', { text: 'x' });
    expect(fresh.status).toBe(503);
    expect(fresh.body.error.code).toBe('model_not_ready');
    expect((await fetch(`${s.base}/readyz`)).status).toBe(503);
    const metricsText = await (await fetch(`${s.base}/metrics`)).text();
    expect(metricsText).toMatch(/flywheel_serving_errors_total\{[^}]*model="\(unknown\)",code="not_found"/);
    expect(metricsText).toMatch(/flywheel_serving_request_duration_seconds_bucket\{[^}]*le="0.0002",[^}]*model="shop",variant="/);
  });

  it('answers 503 with the reason, retriable and Retry-After for a model that failed to load, and names it in /readyz', async () => {
    for (const [path, body] of [['predict', { text: 'x' }], ['predict:batch', { items: [{ text: 'x' }] }], ['predict/batch', { items: [{ text: 'x' }] }]] as const) {
      const r = await fetch(`${s.base}/v1/models/broken/${path}`, { method: 'POST', headers: withKey('web-key'), body: JSON.stringify(body) });
      expect(r.status, path).toBe(503);
      expect(Number(r.headers.get('retry-after')), path).toBeGreaterThanOrEqual(1);
      const json = (await r.json()) as { error: { code: string; message: string; details: { reason: string; retriable: boolean } } };
      expect(json.error.code).toBe('model_unavailable');
      expect(json.error.details).toMatchObject({ retriable: true, reason: expect.stringMatching(/corrupt/) });
    }
    expect((await post('/v1/models/shop/predict', { text: 'still served' })).status).toBe(200);
    const ready = (await (await fetch(`${s.base}/readyz`)).json()) as { details: { models: { failed: { model: string; reason: string }[] } } };
    expect(ready.details.models.failed).toEqual([expect.objectContaining({ model: 'broken', reason: expect.stringMatching(/corrupt/) })]);
    expect(await (await fetch(`${s.base}/metrics`)).text()).toMatch(/flywheel_serving_errors_total\{[^}]*model="broken",code="model_unavailable"/);
  });

  it('describes a model to an admin: versions loaded, labels and routing table', async () => {
    const info = (await (await get('/v1/models/shop', 'admin-key')).json()) as Record<string, any>;
    expect(info.champion.version).toBe('1.0.0');
    expect(info.challenger.version).toBe('1.0.1');
    expect(info.champion.labels).toEqual(['alpha', 'beta', 'gamma']);
    expect(info.routing).toMatchObject({ challengerShareBps: 5000, salt: 'secret-salt' });
    expect((await get('/v1/models/nope', 'admin-key')).status).toBe(404);
  });
});
