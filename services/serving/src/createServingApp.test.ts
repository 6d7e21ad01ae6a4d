import type { ModelUpdated } from '@flywheel/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPredictor } from './createPredictor.js';
import { createServingApp } from './createServingApp.js';
import { createFastPredictPath, listenServing } from './fastPredictPath.js';
import { ModelHost } from './ModelHost.js';
import { createPredictHandlers } from './predictHandlers.js';
import type { PredictionRecord } from './PredictionLog.js';
import { FakeEngine, FakeRouting, FakeSource, quietLogger, table, testMetrics } from './testing/fakes.js';

// Both transports must answer identically: express alone, and the node:http fast path in front of it.
describe.each([['express', false], ['fast path', true]] as const)('serving REST API (%s)', (_name, fastPath) => {
  let base = '';
  let close = async () => {};
  const recorded: PredictionRecord[] = [];
  const source = new FakeSource();
  const { registry, metrics } = testMetrics();
  const host = new ModelHost({ source, engine: new FakeEngine(), routing: new FakeRouting(), metrics, logger: quietLogger(), releaseGraceMs: 0 });

  beforeAll(async () => {
    await host.start('shop');
    source.champions.set('broken', '9.0.0'); // its adapter fails to load: the model answers 503, the others serve
    await host.start('broken');
    source.champ = undefined;
    await host.start('fresh'); // known, no champion yet
    await host.apply('shop', { action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 5000, revision: 1 }) } as ModelUpdated);
    const predict = createPredictor({ host, recorder: { record: (p) => void recorded.push(p) }, metrics });
    const app = createServingApp({ predict, directory: host, logger: quietLogger(), registry, metrics });
    const fast = fastPath ? createFastPredictPath(createPredictHandlers({ predict, directory: host, metrics }), { logger: quietLogger(), bodyLimitBytes: 64 * 1024 }) : undefined;
    const s = await listenServing(app, fast, 0, '127.0.0.1');
    base = `http://127.0.0.1:${s.port}`;
    close = s.close;
  });
  afterAll(async () => {
    await close();
    await host.close();
  });

  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as Record<string, any> };
  };

  it('answers one text with label, confidence, version, variant, prediction id and top-k, and logs it', async () => {
    const r = await post('/v1/models/shop/predict', { text: 'hello', subjectId: 'user-1', topK: 2 });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ label: 'alpha', modelVersion: expect.stringMatching(/^1\.0\.[01]$/), variant: expect.stringMatching(/champion|challenger/) });
    expect(r.body.confidence).toBeCloseTo(0.9);
    expect(r.body.predictionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body.topK.map((t: { label: string }) => t.label)).toEqual(['alpha', 'beta']);
    const logged = recorded.find((p) => p.predictionId === r.body.predictionId);
    expect(logged).toMatchObject({ model: 'shop', text: 'hello', subjectId: 'user-1', variant: r.body.variant, modelVersion: r.body.modelVersion });
    // sticky: the same subject gets the same variant again
    for (let i = 0; i < 5; i++) expect((await post('/v1/models/shop/predict', { text: 'again', subjectId: 'user-1' })).body.variant).toBe(r.body.variant);
  });

  it('answers a batch in order, splitting rows across variants by subject', async () => {
    const items = Array.from({ length: 40 }, (_, i) => ({ text: `t${i}`, subjectId: `s${i}` }));
    const r = await post('/v1/models/shop/predict:batch', { items });
    expect(r.status).toBe(200);
    expect(r.body.predictions).toHaveLength(40);
    const variants = new Set(r.body.predictions.map((p: { variant: string }) => p.variant));
    expect(variants).toEqual(new Set(['champion', 'challenger']));
    for (const p of r.body.predictions) expect(p.modelVersion).toBe(p.variant === 'challenger' ? '1.0.1' : '1.0.0');
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
    const badJson = await fetch(`${base}/v1/models/shop/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(badJson.status).toBe(400);
    expect(((await badJson.json()) as { error: { code: string } }).error.code).toBe('invalid_json');
    if (fastPath) expect((await post('/v1/models/shop/predict', { text: 'x'.repeat(70_000) })).status).toBe(413);
  });

  it('says 404 for an unknown model (naming the served ones) and 503 for a model without a champion yet', async () => {
    const unknown = await post('/v1/models/nope/predict', { text: 'x' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/not served here.*shop/);
    const fresh = await post('/v1/models/fresh/predict', { text: 'x' });
    expect(fresh.status).toBe(503);
    expect(fresh.body.error.code).toBe('model_not_ready');
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    const metricsText = await (await fetch(`${base}/metrics`)).text();
    expect(metricsText).toMatch(/flywheel_serving_errors_total\{[^}]*model="\(unknown\)",code="not_found"/);
    expect(metricsText).toMatch(/flywheel_serving_request_duration_seconds_bucket\{[^}]*le="0.0002",[^}]*model="shop",variant="/);
  });

  it('answers 503 with the reason, retriable and Retry-After for a model that failed to load, and names it in /readyz', async () => {
    for (const [path, body] of [['predict', { text: 'x' }], ['predict:batch', { items: [{ text: 'x' }] }], ['predict/batch', { items: [{ text: 'x' }] }]] as const) {
      const r = await fetch(`${base}/v1/models/broken/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, path).toBe(503);
      expect(Number(r.headers.get('retry-after')), path).toBeGreaterThanOrEqual(1);
      const json = (await r.json()) as { error: { code: string; message: string; details: { reason: string; retriable: boolean } } };
      expect(json.error.code).toBe('model_unavailable');
      expect(json.error.details).toMatchObject({ retriable: true, reason: expect.stringMatching(/corrupt/) });
    }
    expect((await post('/v1/models/shop/predict', { text: 'still served' })).status).toBe(200);
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { details: { models: { failed: { model: string; reason: string }[] } } };
    expect(ready.details.models.failed).toEqual([expect.objectContaining({ model: 'broken', reason: expect.stringMatching(/corrupt/) })]);
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/flywheel_serving_errors_total\{[^}]*model="broken",code="model_unavailable"/);
  });

  it('describes a model: versions loaded, labels and routing table', async () => {
    const r = await fetch(`${base}/v1/models/shop`);
    const info = (await r.json()) as Record<string, any>;
    expect(info.champion.version).toBe('1.0.0');
    expect(info.challenger.version).toBe('1.0.1');
    expect(info.champion.labels).toEqual(['alpha', 'beta', 'gamma']);
    expect(info.routing.challengerShareBps).toBe(5000);
    expect((await fetch(`${base}/v1/models/nope`)).status).toBe(404);
  });
});
