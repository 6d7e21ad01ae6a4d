// Keys from PostgreSQL (flywheel keys create), rate limits in Redis, the client in each prediction
// event: serving composed as main.ts composes it, in its own schema, Redis prefix, topic prefix and bucket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, migrateAuth, revokeClient } from '@flywheel/auth';
import { topics, type EventOf } from '@flywheel/contracts';
import { routingKey } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, scanKeys, until, type IsolatedPlatform } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';
import { publishVersion, syntheticExamples, TINY_OPTIONS, trainState } from './testing/modelFixtures.js';

const LIMIT = 5;

describe('serving access control on real PostgreSQL and Redis', () => {
  let p: IsolatedPlatform;
  let serving: InProcessServing;
  let base = '';
  let model = '';
  const keys = { web: '', flood: '', reviewer: '' };
  const published: EventOf<'predictions'>[] = [];

  const predict = (key: string | undefined, body: unknown = { text: 'alphax1 alphax2 noise1' }, path = 'predict') =>
    fetch(`${base}/v1/models/${model}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: JSON.stringify(body) });

  beforeAll(async () => {
    p = await isolatedPlatform('serving-access');
    model = `access-${p.run}`;
    await migrateRegistry(p.pool);
    const registry = new PgRegistry(p.pool);
    const artifacts = new MinioArtifactStore(await p.objectStore());
    const { state } = await trainState(syntheticExamples(['alpha', 'beta', 'gamma'], 40), TINY_OPTIONS);
    await publishVersion({ registry, artifacts }, { model, version: '1.0.0', state, role: 'champion' });
    await publishVersion({ registry, artifacts }, { model, version: '1.0.1', state, role: 'challenger' });
    await p.redis.set(routingKey(p.redisPrefix, model), JSON.stringify({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 5000, salt: 'secret-salt', revision: 1 }));
    await migrateAuth(p.pool);
    keys.web = (await createClient(p.pool, { name: 'web', scopes: ['predict'] })).key;
    keys.flood = (await createClient(p.pool, { name: 'flood', scopes: ['predict'] })).key;
    keys.reviewer = (await createClient(p.pool, { name: 'reviewer', scopes: ['feedback'], trust: 'trusted' })).key;
    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-access-${p.run}`, PREDICTION_FLUSH_MS: '20',
      PREDICT_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    }, { publisher: { publishMany: async (_topic, events) => void published.push(...events) } });
    base = `http://127.0.0.1:${serving.port}`;
  });

  afterAll(async () => {
    try {
      await serving?.close();
    } finally {
      await p?.drop();
    }
  });

  it('answers 401 without a key, 403 to a key without predict, and 200 to a predict key', async () => {
    expect((await predict(undefined)).status).toBe(401);
    expect((await predict('fwk_forged')).status).toBe(401);
    expect((await predict(keys.reviewer)).status).toBe(403);
    expect((await predict(keys.reviewer, { items: [{ text: 'x' }] }, 'predict:batch')).status).toBe(403);
    expect((await fetch(`${base}/v1/models/${model}`, { headers: { authorization: `Bearer ${keys.reviewer}` } })).status).toBe(403);
    expect((await predict(keys.web)).status).toBe(200);
  });

  it('records the client in each prediction event', async () => {
    const r = (await (await predict(keys.web, { text: 'betax1 betax2 noise2', subjectId: 'u-7' })).json()) as { predictionId: string };
    await until(`the prediction event of ${r.predictionId}`, () => published.some((e) => e.id === r.predictionId), 10_000);
    const event = published.find((e) => e.id === r.predictionId);
    expect(topics.predictions.schema.safeParse(event).success).toBe(true);
    expect(event?.data).toMatchObject({ predictionId: r.predictionId, client: 'web', subjectId: 'u-7' });
  });

  it('shows a predict key no routing internals, and the admin token all of them', async () => {
    const seen = await (await fetch(`${base}/v1/models/${model}`, { headers: { authorization: `Bearer ${keys.web}` } })).text();
    expect(JSON.parse(seen)).toEqual({ model, ready: true, champion: { version: '1.0.0', labels: ['alpha', 'beta', 'gamma'] } });
    expect(seen).not.toMatch(/salt|routing|1\.0\.1|standby/);
    const admin = (await (await fetch(`${base}/v1/models/${model}`, { headers: adminHeaders })).json()) as { routing?: { salt: string } };
    expect(admin.routing?.salt).toBe('secret-salt');
  });

  it(`limits each client to ${LIMIT} predictions a minute in Redis: 429 with Retry-After, other clients unaffected`, async () => {
    const statuses: number[] = [];
    let retryAfter = 0;
    for (let i = 0; i < LIMIT + 2; i++) {
      const r = await predict(keys.flood, i % 2 === 0 ? { text: `flood ${i}` } : { items: [{ text: `flood ${i}` }] }, i % 2 === 0 ? 'predict' : 'predict:batch');
      statuses.push(r.status);
      if (r.status === 429) retryAfter = Number(r.headers.get('retry-after'));
      await r.body?.cancel();
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(200), 429, 429]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await scanKeys(p.redis, `${p.redisPrefix}:rl:serving:predict*flood*`)).not.toEqual([]);
    expect((await predict(keys.web)).status).toBe(200);
  });

  it('refuses a revoked key after the next key refresh, without a restart', async () => {
    const spare = (await createClient(p.pool, { name: 'spare', scopes: ['predict'] })).key;
    await until('the new key to be accepted', async () => (await predict(spare)).status === 200, 10_000);
    await revokeClient(p.pool, 'spare', 'itest');
    await until('the revoked key to be refused', async () => (await predict(spare)).status === 401, 10_000);
  });
});
