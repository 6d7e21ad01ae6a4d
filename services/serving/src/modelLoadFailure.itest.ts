import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, until } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';
import { publishVersion, syntheticExamples, TINY_OPTIONS, trainState } from './testing/modelFixtures.js';

// Own schema, Redis prefix, topic prefix and bucket (isolatedPlatform), all removed at the end.
describe('serving with one model whose artifacts are broken (real PostgreSQL, Redis, Kafka and S3)', () => {
  let p: Awaited<ReturnType<typeof isolatedPlatform>>;
  let store: MinioObjectStore;
  let serving: InProcessServing | undefined;
  let base = '';
  let good = '';
  let bad = '';
  let manifestKey = '';
  let manifest: Buffer;

  const predict = (model: string, path: 'predict' | 'predict/batch' | 'predict:batch', body: unknown) =>
    fetch(`${base}/v1/models/${model}/${path}`, { method: 'POST', headers: adminHeaders, body: JSON.stringify(body) });
  const readyz = async () => {
    const r = await fetch(`${base}/readyz`);
    return { status: r.status, body: (await r.json()) as { details?: { models?: { failed: { model: string; reason: string }[] } } } };
  };

  beforeAll(async () => {
    p = await isolatedPlatform('serving-load-failure');
    good = `lf-good-${p.run}`;
    bad = `lf-bad-${p.run}`;
    await migrateRegistry(p.pool);
    const registry = new PgRegistry(p.pool);
    store = await p.objectStore();
    const artifacts = new MinioArtifactStore(store);
    const { state } = await trainState(syntheticExamples(['alpha', 'beta', 'gamma'], 40), TINY_OPTIONS);
    await publishVersion({ registry, artifacts }, { model: good, version: '1.0.0', state, role: 'champion' });
    const published = await publishVersion({ registry, artifacts }, { model: bad, version: '1.0.0', state, role: 'champion' });
    // The failure of the issue: a registered champion whose manifest is gone from the object store.
    manifestKey = published.artifact.manifestKey;
    manifest = await store.get(manifestKey);
    await store.remove([manifestKey]);

    // Composed as main.ts composes it, in this file's schema, prefixes and bucket.
    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: `${good},${bad}`, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-load-failure-${p.run}`, PREDICTION_FLUSH_MS: '20',
      LOAD_RETRY_BASE_MS: '100', LOAD_RETRY_MAX_MS: '500',
    });
    base = `http://127.0.0.1:${serving.port}`;
  });

  afterAll(async () => {
    try {
      await serving?.close();
    } finally {
      await p?.drop();
    }
  });

  it('serves the healthy model while the broken one answers 503 with the reason, and stays ready', async () => {
    const ok = await predict(good, 'predict', { text: 'alphax1 alphax2 alphax3 noise1' });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { label: string }).label).toBe('alpha');

    for (const [path, body] of [['predict', { text: 'x' }], ['predict/batch', { items: [{ text: 'x' }] }], ['predict:batch', { items: [{ text: 'x' }] }]] as const) {
      const r = await predict(bad, path, body);
      expect(r.status, path).toBe(503);
      expect(Number(r.headers.get('retry-after')), path).toBeGreaterThanOrEqual(1);
      const json = (await r.json()) as { error: { code: string; details: { reason: string; retriable: boolean } } };
      expect(json.error.code).toBe('model_unavailable');
      expect(json.error.details.retriable).toBe(true);
      expect(json.error.details.reason).toContain('manifest.json is missing from the object store');
    }

    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.details?.models?.failed).toEqual([expect.objectContaining({ model: bad, reason: expect.stringContaining('manifest.json') })]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const failures = new RegExp(`flywheel_serving_model_load_failures_total\\{[^}]*model="${bad}"[^}]*\\} (\\d+)`).exec(metrics);
    expect(Number(failures?.[1] ?? 0)).toBeGreaterThan(0);
    expect(metrics).not.toMatch(new RegExp(`flywheel_serving_model_load_failures_total\\{[^}]*model="${good}"`));
  });

  it('loads the broken model on a retry once its manifest is restored, without a restart', async () => {
    await store.put(manifestKey, manifest, 'application/json');
    let last = '';
    await until(`${bad} to answer 200 after its manifest was restored`, async () => {
      const r = await predict(bad, 'predict', { text: 'betax1 betax2 betax3 noise2' });
      last = `${r.status} ${await r.text()}`;
      return r.status === 200;
    }).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}`);
    });
    expect(JSON.parse(last.slice(4))).toMatchObject({ label: 'beta', modelVersion: '1.0.0' });
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.details?.models?.failed).toEqual([]);
    expect((await predict(good, 'predict:batch', { items: [{ text: 'gammax1 gammax2 noise3' }] })).status).toBe(200);
  });
});
