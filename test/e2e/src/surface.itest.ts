import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSource, makeEvent } from '@flywheel/contracts';
import { SERVICE_NAMES, type ServiceName } from '@flywheel/local-stack';
import { produceRaw, readTopic } from './support/kafkaTopics.js';
import { createStoreProbe, type StoreProbe } from './support/storeProbe.js';
import { startE2eWorld, type E2eWorld } from './support/startE2eStack.js';
import { waitFor } from './support/waitFor.js';

// The service surface under hostile input: admin routes and API keys (made with `flywheel keys create`), fuzzed REST bodies
// (property-based), malformed events from an outside producer, and secrets kept out of logs.
// One stack for the file (no trainer: nothing here trains).
const S3_SECRET = process.env.S3_SECRET_KEY ?? 'S3RVER';

describe('the service surface', () => {
  let w: E2eWorld;
  let db: StoreProbe;
  const accepted = new Set<string>();

  const call = async (svc: ServiceName, method: string, path: string, o: { body?: string | undefined; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${w.stack.url(svc)}${path}`, {
      method, headers: { 'content-type': 'application/json', ...(o.headers ?? {}) }, ...(o.body === undefined ? {} : { body: o.body }), signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, text: await res.text() };
  };
  const Accepted202 = z.object({ items: z.array(z.object({ feedbackId: z.string().uuid() })) }).or(z.object({ feedbackId: z.string().uuid() }));
  /** Records the ids of a 202 answer (what must never be lost). */
  const remember = (r: { status: number; text: string }): void => {
    if (r.status !== 202) return;
    const a = Accepted202.parse(JSON.parse(r.text));
    for (const id of 'items' in a ? a.items.map((i) => i.feedbackId) : [a.feedbackId]) accepted.add(id);
  };
  let feedbackKey = '';
  const key = () => ({ 'x-api-key': feedbackKey });

  beforeAll(async () => {
    w = await startE2eWorld('surface', {
      services: ['feedback-ingest', 'aggregator', 'drift-monitor', 'ab-router', 'serving'],
    });
    db = createStoreProbe(w.pool, w.model);
    // A feedback-only client, made the way an operator makes one; services pick keys up within seconds.
    const { stdout } = await w.stack.cli(['keys', 'create', 'e2e-feedback', '--scopes', 'feedback']);
    feedbackKey = stdout.trim().split('\n').at(-1)?.trim() ?? '';
    expect(feedbackKey).toMatch(/^fwk_/);
    const probe = JSON.stringify({ model: w.model, kind: 'confirmation', text: 'key probe kettle', predictedLabel: 'kitchen' });
    await waitFor('feedback-ingest to accept the new key', async () => {
      const r = await call('feedback-ingest', 'POST', '/v1/feedback', { body: probe, headers: key() });
      remember(r);
      return r.status === 202 ? true : undefined;
    }, { timeoutMs: 30_000 });
    // Every other service knows the key too (then it answers 403 for a missing scope, not 401).
    const knows: [ServiceName, string, string][] = [['ab-router', 'GET', '/admin/experiments'], ['drift-monitor', 'GET', `/admin/models/${w.model}/drift`], ['serving', 'GET', `/v1/models/${w.model}`]];
    for (const [svc, method, path] of knows) {
      await waitFor(`${svc} to know the new key`, async () => ((await call(svc, method, path, { headers: key() })).status !== 401 ? true : undefined), { timeoutMs: 30_000 });
    }
  });
  afterAll(async () => {
    await w?.close();
  });

  describe('security', () => {
    const adminRoutes = (): [ServiceName, string, string][] => [
      ['feedback-ingest', 'POST', `/v1/admin/models/${w.model}/retrain`],
      ['ab-router', 'GET', '/admin/experiments'],
      ['ab-router', 'GET', `/admin/experiments/${randomUUID()}`],
      ['ab-router', 'POST', '/admin/experiments'],
      ['ab-router', 'POST', `/admin/experiments/${randomUUID()}/stop`],
      ['ab-router', 'POST', `/admin/experiments/${randomUUID()}/evaluate`],
      ['ab-router', 'POST', `/admin/experiments/${randomUUID()}/promote`],
      ['ab-router', 'POST', `/admin/models/${w.model}/rollback`],
      ['drift-monitor', 'GET', `/admin/models/${w.model}/drift`],
      ['drift-monitor', 'POST', `/admin/models/${w.model}/drift/evaluate`],
    ];

    it('refuses admin routes without a key (401), with an unknown one (401) and without the admin scope (403)', async () => {
      const body = JSON.stringify({ reason: 'e2e' });
      for (const [svc, method, path] of adminRoutes()) {
        const none = await call(svc, method, path, { body: method === 'POST' ? body : undefined });
        expect(none.status, `${svc} ${method} ${path} without a token`).toBe(401);
        const wrongs = [`Bearer ${w.stack.adminToken.slice(0, -1)}x`, `Bearer ${w.stack.adminToken}x`, 'Bearer ', `Basic ${w.stack.adminToken}`, w.stack.adminToken];
        for (const authorization of wrongs) {
          const r = await call(svc, method, path, { body: method === 'POST' ? body : undefined, headers: { authorization } });
          expect([401, 403], `${svc} ${method} ${path} with "${authorization.slice(0, 12)}…"`).toContain(r.status);
        }
        const wrong = await call(svc, method, path, { body: method === 'POST' ? body : undefined, headers: { authorization: 'Bearer not-the-admin-token-at-all' } });
        expect(wrong.status, `${svc} ${method} ${path} with an unknown key`).toBe(401);
        const noScope = await call(svc, method, path, { body: method === 'POST' ? body : undefined, headers: { authorization: `Bearer ${feedbackKey}` } });
        expect(noScope.status, `${svc} ${method} ${path} with a key without the admin scope`).toBe(403);
        const right = await call(svc, method, path, { body: method === 'POST' ? body : undefined, headers: { authorization: `Bearer ${w.stack.adminToken}` } });
        expect([401, 403], `${svc} ${method} ${path} with the right token`).not.toContain(right.status);
        expect(right.status, `${svc} ${method} ${path} with the right token: ${right.text.slice(0, 200)}`).toBeLessThan(500);
      }
    });

    it('refuses feedback and predictions without a key or with the wrong scope, accepts feedback with the key', async () => {
      const item = JSON.stringify({ model: w.model, kind: 'confirmation', text: 'steel kettle', predictedLabel: 'kitchen' });
      expect((await call('feedback-ingest', 'POST', '/v1/feedback', { body: item })).status).toBe(401);
      expect((await call('feedback-ingest', 'POST', '/v1/feedback', { body: item, headers: { 'x-api-key': `${feedbackKey}x` } })).status).toBe(401);
      const predict = JSON.stringify({ text: 'steel kettle' });
      expect((await call('serving', 'POST', `/v1/models/${w.model}/predict`, { body: predict })).status).toBe(401);
      expect((await call('serving', 'POST', `/v1/models/${w.model}/predict`, { body: predict, headers: key() })).status).toBe(403);
      const ok = await call('feedback-ingest', 'POST', '/v1/feedback', { body: item, headers: key() });
      expect(ok.status).toBe(202);
      remember(ok);
    });
  });

  describe('bad input', () => {
    const model = () => w.model;
    const validItem = () => fc.record({
      model: fc.constant(model()),
      kind: fc.constantFrom('confirmation', 'misclassification', 'thumbs_up', 'thumbs_down'),
      text: fc.string({ minLength: 1, maxLength: 80 }),
      predictedLabel: fc.constantFrom('kitchen', 'watches'),
      correctLabel: fc.constantFrom('toys', 'footwear'),
    });
    // Each field is valid, missing, or replaced by something hostile; extra keys sometimes appear.
    const hostile = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 }), fc.string({ minLength: 20_001, maxLength: 20_010 }), fc.constant(''), fc.constant('  '));
    const fuzzedItem = () => fc.tuple(validItem(), fc.dictionary(fc.constantFrom('model', 'kind', 'text', 'predictedLabel', 'correctLabel', 'predictionId', 'modelVersion', 'variant', 'reporter', 'metadata', 'extra', '__proto__'), fc.option(hostile, { nil: undefined }), { maxKeys: 3 }))
      .map(([item, patch]) => {
        const out: Record<string, unknown> = { ...item };
        for (const [k, v] of Object.entries(patch)) {
          if (v === undefined) delete out[k];
          else out[k] = v;
        }
        return out;
      });

    it('answers every fuzzed feedback body with 202 or a 4xx, never a 5xx', async () => {
      await fc.assert(fc.asyncProperty(fc.oneof(
        fuzzedItem().map((i) => ({ path: '/v1/feedback', body: JSON.stringify(i) })),
        fc.array(fuzzedItem(), { minLength: 0, maxLength: 5 }).map((items) => ({ path: '/v1/feedback/batch', body: JSON.stringify({ items }) })),
        fc.anything().map((x) => ({ path: '/v1/feedback/batch', body: JSON.stringify(x) ?? 'undefined' })),
        fc.string({ maxLength: 200 }).map((s) => ({ path: '/v1/feedback', body: s })),
      ), async ({ path, body }) => {
        const r = await call('feedback-ingest', 'POST', path, { body, headers: key() });
        remember(r);
        return r.status === 202 || (r.status >= 400 && r.status < 500);
      }), { numRuns: 300, seed: 4242 });
      expect(accepted.size).toBeGreaterThan(5); // the generator really produced valid items too
    });

    it('answers every fuzzed predict and admin body with 2xx or a 4xx, never a 5xx', async () => {
      await fc.assert(fc.asyncProperty(fc.oneof(
        fc.record({ text: fc.oneof(fc.string({ maxLength: 100 }), hostile), subjectId: fc.option(hostile, { nil: undefined }) }).map((b) => ({ svc: 'serving' as const, path: `/v1/models/${model()}/predict`, body: JSON.stringify(b) })),
        fc.anything().map((x) => ({ svc: 'serving' as const, path: `/v1/models/${model()}/predict:batch`, body: JSON.stringify({ items: x }) })),
        fc.string({ minLength: 1, maxLength: 40 }).map((m) => ({ svc: 'serving' as const, path: `/v1/models/${encodeURIComponent(m)}/predict`, body: JSON.stringify({ text: 'kettle' }) })),
        fc.anything().map((x) => ({ svc: 'ab-router' as const, path: '/admin/experiments', body: JSON.stringify(x) ?? '' })),
        fc.anything().map((x) => ({ svc: 'feedback-ingest' as const, path: `/v1/admin/models/${model()}/retrain`, body: JSON.stringify({ reason: x }) })),
      ), async ({ svc, path, body }) => {
        const r = await call(svc, 'POST', path, { body, headers: { authorization: `Bearer ${w.stack.adminToken}` } });
        return r.status < 500 || (svc === 'feedback-ingest' && r.status === 409);
      }), { numRuns: 200, seed: 4243 });
      w.stack.assertAlive();
    });

    it('dead-letters malformed events from an outside producer and keeps the valid one', async () => {
      const topic = `${w.stack.topicPrefix}feedback-events`;
      const good = makeEvent('feedback', { source: clientSource('outside-producer'), subject: w.model, data: { feedbackId: randomUUID() as never, kind: 'confirmation', text: 'outside kettle', predictedLabel: 'kitchen' } as never });
      const goodEvent = { ...good, id: good.data.feedbackId };
      const bad: { key: string; value: string }[] = [
        { key: 'bad-not-json', value: 'not json {' },
        { key: 'bad-empty', value: '' },
        { key: 'bad-no-envelope', value: JSON.stringify({ hello: 1 }) },
        { key: 'bad-wrong-type', value: JSON.stringify({ ...goodEvent, id: randomUUID(), type: 'something.else.v9' }) },
        { key: 'bad-no-data', value: JSON.stringify({ ...goodEvent, id: randomUUID(), data: undefined }) },
        { key: 'bad-bad-data', value: JSON.stringify({ ...goodEvent, id: randomUUID(), data: { ...goodEvent.data, kind: 'misclassification', correctLabel: undefined } }) },
        { key: 'bad-huge-text', value: JSON.stringify({ ...goodEvent, id: randomUUID(), data: { ...goodEvent.data, text: 'x'.repeat(25_000) } }) },
      ];
      await produceRaw(w.stack.platformEnv.KAFKA_BROKERS ?? '', topic, [...bad, { key: w.model, value: JSON.stringify(goodEvent) }]);
      // Nothing valid lost: the outside event reaches the aggregator's ledger.
      await waitFor('the outside producer\'s valid event in the aggregator ledger', async () => ((await db.ledgerIds()).has(goodEvent.id) ? true : undefined), { timeoutMs: 30_000 });
      const keys = new Set(bad.map((b) => b.key));
      const dlq = await readTopic(w.stack.platformEnv.KAFKA_BROKERS ?? '', `${topic}.dlq`, (rs) => [...keys].every((k) => rs.some((r) => r.key === k && /aggregator/.test(r.headers['flywheel-dlq-group'] ?? ''))), 30_000);
      for (const k of keys) {
        const rec = dlq.find((r) => r.key === k && /aggregator/.test(r.headers['flywheel-dlq-group'] ?? ''));
        expect(rec, `dead-letter record of ${k} from the aggregator`).toBeDefined();
        expect(rec?.headers['flywheel-dlq-reason']).toBeTruthy();
      }
      expect(dlq.some((r) => r.key === w.model)).toBe(false); // the valid one was not dead-lettered
      w.stack.assertAlive();
    });

    it('lost nothing it accepted: every 202 id is in PostgreSQL and reached the aggregator', async () => {
      // Fuzzed items may name other (valid) models; the schema is this stack's own, so count them all.
      const ids = [...accepted];
      await waitFor('every accepted feedback id in the aggregator ledger', async () => {
        const l = await db.ledgerIds({ anyModel: true });
        return ids.every((id) => l.has(id)) ? true : undefined;
      }, { timeoutMs: 30_000 });
      const rows = await db.feedbackIds({ anyModel: true });
      expect(ids.filter((id) => !rows.has(id))).toEqual([]);
      for (const svc of w.stack.services) expect(await w.stack.api.ready(svc), `${svc} ready`).toBe(true);
    });
  });

  it('no secret appears in any service log or metrics page', async () => {
    const secrets = { ADMIN_TOKEN: w.stack.adminToken, FEEDBACK_KEY: feedbackKey, S3_SECRET_KEY: S3_SECRET };
    const logDir = join(w.workDir, 'logs');
    const logs = readdirSync(logDir).map((f) => ({ f, text: readFileSync(join(logDir, f), 'utf8') }));
    expect(logs.length).toBeGreaterThanOrEqual(w.stack.services.length);
    for (const svc of SERVICE_NAMES.filter((s) => w.stack.services.includes(s))) logs.push({ f: `${svc} /metrics`, text: await w.stack.api.metrics(svc) });
    for (const { f, text } of logs) {
      expect(text.length).toBeGreaterThan(0);
      for (const [name, value] of Object.entries(secrets)) expect(text.includes(value), `${name} appears in ${f}`).toBe(false);
    }
  });
});
