// The middleware in a real express app (packages/http createHttpApp) over real PostgreSQL and Redis:
// 401 vs 403, open health routes, per-client rate limits with Retry-After. Own schema and Redis prefix.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, listen } from '@flywheel/http';
import { createMetricsRegistry, RateLimited } from '@flywheel/runtime';
import { isolatedPlatform, scanKeys, type IsolatedPlatform } from '@flywheel/testing';
import { clientOf, requireScope } from './authorize.js';
import { createClient, migrateAuth } from './clients.js';
import { createKeyring, type Keyring } from './createKeyring.js';
import { createRateLimits, rateLimit } from './rateLimits.js';

const ADMIN_TOKEN = 'http-itest-admin-token';
const PREDICT_LIMIT = 3;
let p: IsolatedPlatform;
let keyring: Keyring;
let server: { port: number; close: () => Promise<void> };
const keys: Record<'predictor' | 'other' | 'reviewer', string> = { predictor: '', other: '', reviewer: '' };
const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;

beforeAll(async () => {
  p = await isolatedPlatform('auth-http');
  await migrateAuth(p.pool);
  await p.redis.ping(); // connected, so the limits count in Redis rather than in the fallback limiter
  keys.predictor = (await createClient(p.pool, { name: 'predictor', scopes: ['predict'] })).key;
  keys.other = (await createClient(p.pool, { name: 'other', scopes: ['predict'] })).key;
  keys.reviewer = (await createClient(p.pool, { name: 'reviewer', scopes: ['feedback'], trust: 'trusted' })).key;
  keyring = await createKeyring({ pool: p.pool, refreshMs: 1_000, adminToken: ADMIN_TOKEN });
  const limits = createRateLimits({ redis: p.redis, keyPrefix: `${p.redisPrefix}rl`, limits: { predict: { points: PREDICT_LIMIT, durationSec: 60 } } });
  const app = createHttpApp({
    service: 'auth-itest', logger: p.logger, metrics: createMetricsRegistry('auth-itest'),
    routes: (a) => {
      a.post('/v1/predict', requireScope(keyring, 'predict'), rateLimit(limits, 'predict'), (_req, res) => {
        res.json({ client: clientOf(res).name });
      });
      a.post('/v1/feedback', requireScope(keyring, 'feedback'), rateLimit(limits, 'feedback'), (_req, res) => {
        res.status(202).json({ client: clientOf(res).name, trust: clientOf(res).trust });
      });
      a.get('/v1/admin', requireScope(keyring, 'admin'), (_req, res) => {
        res.json({ client: clientOf(res).name });
      });
    },
  });
  server = await listen(app, 0, '127.0.0.1');
});

afterAll(async () => {
  await server?.close();
  keyring?.close();
  await p?.drop();
});

const call = async (method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(url(path), { method, headers: { 'content-type': 'application/json', ...headers }, ...(method === 'POST' ? { body: '{}' } : {}) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { client?: string; trust?: string; error?: { code: string; message: string } } };
};

describe('requireScope in an express app', () => {
  it('answers 401 with WWW-Authenticate without a key or with an unknown one', async () => {
    const none = await call('POST', '/v1/predict');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="flywheel"');
    expect(none.body.error).toMatchObject({ code: 'missing_key' });
    const unknown = await call('POST', '/v1/predict', { authorization: 'Bearer fwk_not-a-real-key' });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.get('www-authenticate')).toContain('invalid_token');
    expect(unknown.body.error?.code).toBe('unknown_key');
  });

  it('answers 403 to a valid key without the scope', async () => {
    const r = await call('POST', '/v1/feedback', { 'x-api-key': keys.predictor });
    expect(r.status).toBe(403);
    expect(r.body.error?.code).toBe('missing_scope');
    expect((await call('GET', '/v1/admin', { authorization: `Bearer ${keys.reviewer}` })).status).toBe(403);
  });

  it('lets the right scope through and hands the client to the route', async () => {
    expect(await call('POST', '/v1/feedback', { authorization: `Bearer ${keys.reviewer}` })).toMatchObject({ status: 202, body: { client: 'reviewer', trust: 'trusted' } });
    expect(await call('GET', '/v1/admin', { authorization: `Bearer ${ADMIN_TOKEN}` })).toMatchObject({ status: 200, body: { client: 'admin' } });
  });

  it('leaves /healthz and /metrics open', async () => {
    // Bodies read to the end: an unread one keeps its connection busy, and server.close() in afterAll waits for it.
    for (const path of ['/healthz', '/metrics']) {
      const res = await fetch(url(path));
      await res.arrayBuffer();
      expect(res.status, path).toBe(200);
    }
  });
});

describe('rate limits', () => {
  it(`gives request ${PREDICT_LIMIT + 1} of a window 429 with Retry-After, for that client only`, async () => {
    const statuses: number[] = [];
    for (let i = 0; i < PREDICT_LIMIT; i++) statuses.push((await call('POST', '/v1/predict', { 'x-api-key': keys.other })).status);
    expect(statuses).toEqual(Array(PREDICT_LIMIT).fill(200));
    const limited = await call('POST', '/v1/predict', { 'x-api-key': keys.other });
    expect(limited.status).toBe(429);
    expect(limited.body.error?.code).toBe('rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Further requests in the window are refused from this process's memory: still 429 with
    // Retry-After, and the count in Redis stays at the budget (no round trip for them).
    for (let i = 0; i < 3; i++) {
      const again = await call('POST', '/v1/predict', { 'x-api-key': keys.other });
      expect(again.status).toBe(429);
      expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(again.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    }
    expect(await p.redis.get(`${p.redisPrefix}rl:predict:other`)).toBe(String(PREDICT_LIMIT));
    // Another client's budget is its own; the window is counted in Redis under this file's prefix.
    expect((await call('POST', '/v1/predict', { 'x-api-key': keys.predictor })).status).toBe(200);
    expect(await scanKeys(p.redis, `${p.redisPrefix}rl:predict:*`)).toEqual(expect.arrayContaining([`${p.redisPrefix}rl:predict:other`]));
  });

  it('holds the budget across two limiters sharing Redis, each refusing with retryAfterSeconds once it is spent', async () => {
    const shared = { redis: p.redis, keyPrefix: `${p.redisPrefix}two`, limits: { predict: { points: 4, durationSec: 60 } } };
    const [a, b] = [createRateLimits(shared), createRateLimits(shared)];
    const outcomes: string[] = [];
    // a spends 3, b the 4th: a has not seen the budget reached, so only Redis can refuse its next one.
    for (const limits of [a, a, a, b, a, b, a]) {
      outcomes.push(await limits.consume({ name: 'greedy' }, 'predict').then(() => 'ok', (e: unknown) => {
        if (!(e instanceof RateLimited)) throw e;
        const seconds = (e.details as { retryAfterSeconds: number }).retryAfterSeconds;
        return seconds >= 1 && seconds <= 60 ? '429' : `429 with retryAfterSeconds ${seconds}`;
      }));
    }
    expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', '429', '429', '429']);
    expect(Number(await p.redis.get(`${p.redisPrefix}two:predict:greedy`))).toBe(5); // a's first refusal asked Redis; later ones did not
  });

  it('takes large budgets from Redis in leases, never admitting more than the budget', async () => {
    const shared = { redis: p.redis, keyPrefix: `${p.redisPrefix}lease`, limits: { predict: { points: 1_000, durationSec: 60 } } };
    const a = createRateLimits(shared);
    const counter = `${p.redisPrefix}lease:predict:busy`;
    // 25 requests at once: one lease of 10 at a time (the others wait for it), so three Redis calls.
    await Promise.all(Array.from({ length: 25 }, () => a.consume({ name: 'busy' }, 'predict')));
    expect(Number(await p.redis.get(counter))).toBe(30);
    // A window with one point left: another process's lease is cut to that point, then it refuses.
    await p.redis.set(counter, 999, 'PX', 60_000);
    const b = createRateLimits(shared);
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i++) outcomes.push(await b.consume({ name: 'busy' }, 'predict').then(() => 'ok', (e: unknown) => (e instanceof RateLimited ? '429' : String(e))));
    expect(outcomes).toEqual(['ok', '429', '429']);
    // a still holds the 5 points of its last lease (25 of 30 spent); they are admitted, then a refuses too.
    const fromLease: string[] = [];
    for (let i = 0; i < 6; i++) fromLease.push(await a.consume({ name: 'busy' }, 'predict').then(() => 'ok', (e: unknown) => (e instanceof RateLimited ? '429' : String(e))));
    expect(fromLease).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', '429']);
  });

  it('has a function form for hand-written paths that throws RateLimited with retryAfterSeconds', async () => {
    const limits = createRateLimits({ redis: p.redis, keyPrefix: `${p.redisPrefix}fn`, limits: { feedback: { points: 1, durationSec: 30 } } });
    await limits.consume({ name: 'reviewer' }, 'feedback');
    await limits.consume({ name: 'reviewer' }, 'predict'); // no limit for predict here
    const err = await limits.consume({ name: 'reviewer' }, 'feedback').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimited);
    expect((err as RateLimited).details).toMatchObject({ scope: 'feedback', limit: 1, windowSeconds: 30 });
  });
});
