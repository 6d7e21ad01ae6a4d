import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '@flywheel/contracts';
import { isolatedPlatform } from '@flywheel/testing';
import { ADMIN, createKey, registerModel, startIngest, type StartedIngest } from './testPlatform.js';

let API_KEY = '';
let p: Awaited<ReturnType<typeof isolatedPlatform>>;
let svc: StartedIngest;
let base = '';
const model = `m-${randomUUID().slice(0, 8)}`;

const rows = async (sql: string, args: unknown[] = []): Promise<number> => Number((await p.pool.query(sql, args)).rows[0].n);
const feedbackRows = () => rows('SELECT count(*) AS n FROM feedback');
const outboxRows = () => rows('SELECT count(*) AS n FROM flywheel_outbox');
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const correction = (extra: Record<string, unknown> = {}) => ({ model, text: 'my parcel is late again', kind: 'misclassification', predictedLabel: 'low', correctLabel: 'high', ...extra });

beforeAll(async () => {
  p = await isolatedPlatform('ingest-api');
  svc = await startIngest(p, { env: { RULES_JSON: JSON.stringify({ [model]: { correctionThreshold: 20 } }) } });
  await registerModel(svc, model, ['low', 'high', 'billing', 'shipping']);
  await registerModel(svc, 'other-model', ['low', 'high']);
  API_KEY = await createKey(svc, 'reviewer', ['feedback'], 'trusted');
  base = svc.base;
});
afterAll(async () => {
  await svc?.svc.stop();
  await p?.drop();
});

describe('feedback-ingest REST API', () => {
  it('accepts one item, writes the row and its outbox event in one go', async () => {
    const r = await post('/v1/feedback', correction({ metadata: { ticket: 'T-1' } }));
    expect(r.status).toBe(202);
    const body = (await r.json()) as { feedbackId: string; sequence: number };
    expect(body.sequence).toBeGreaterThan(0);
    const ev = (await p.pool.query('SELECT event FROM flywheel_outbox WHERE event_id = $1', [body.feedbackId])).rows[0].event;
    expect(ev).toMatchObject({ id: body.feedbackId, subject: model, type: 'feedback.received.v1', data: { correctLabel: 'high', sequence: body.sequence, metadata: { ticket: 'T-1' } } });
  });

  it('accepts concurrent single items (written together) with a row, a sequence and an outbox event each', async () => {
    const before = await feedbackRows();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post('/v1/feedback', correction({ text: `concurrent ${i}` }))));
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(202));
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { feedbackId: string; sequence: number }[];
    expect(new Set(bodies.map((b) => b.sequence)).size).toBe(40);
    expect(await feedbackRows()).toBe(before + 40);
    const stored = (await p.pool.query('SELECT f.id, f.text, f.sequence FROM feedback f JOIN flywheel_outbox o ON o.event_id = f.id::text WHERE f.id = ANY($1::uuid[])', [bodies.map((b) => b.feedbackId)])).rows as { id: string; text: string; sequence: string }[];
    expect(stored).toHaveLength(40);
    // Each caller got its own row back: the id it was told holds the text it sent, with the sequence it was told.
    const byId = new Map(stored.map((r) => [r.id, r]));
    bodies.forEach((b, i) => expect({ text: byId.get(b.feedbackId)?.text, sequence: Number(byId.get(b.feedbackId)?.sequence) }).toEqual({ text: `concurrent ${i}`, sequence: b.sequence }));
  });

  it('creates one row for a retry with the same Idempotency-Key, and refuses the key with another body (409)', async () => {
    const before = await feedbackRows();
    const key = randomUUID();
    const a = await post('/v1/feedback', correction({ text: 'retry me' }), { 'idempotency-key': key });
    const b = await post('/v1/feedback', correction({ text: 'retry me' }), { 'idempotency-key': key });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(await b.json()).toEqual(await a.json());
    expect(await feedbackRows()).toBe(before + 1);
    const c = await post('/v1/feedback', correction({ text: 'another body' }), { 'idempotency-key': key });
    expect(c.status).toBe(409);
    expect(await feedbackRows()).toBe(before + 1);
    // Concurrent retries race on the key, still one row.
    const k2 = randomUUID();
    const answers = await Promise.all(Array.from({ length: 5 }, () => post('/v1/feedback', correction({ text: 'race' }), { 'idempotency-key': k2 }).then((r) => r.json())));
    expect(new Set(answers.map((x) => JSON.stringify(x))).size).toBe(1);
    expect(await feedbackRows()).toBe(before + 2);
  });

  it('answers 400 with every zod issue and writes nothing for an invalid item', async () => {
    const before = [await feedbackRows(), await outboxRows()];
    const r = await post('/v1/feedback', { model: 'Bad Name', text: '', kind: 'misclassification', predictedLabel: 'a' });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { issues: { path: (string | number)[] }[] } };
    const paths = body.error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['model', 'text']));
    expect([await feedbackRows(), await outboxRows()]).toEqual(before);
    const bad = await post('/v1/feedback', correction({ correctLabel: 'low' }));
    expect(bad.status).toBe(400);
  });

  it('validates a batch all-or-nothing with per-item issues, and accepts a valid one in order', async () => {
    const before = await feedbackRows();
    const items = Array.from({ length: 10 }, (_, i) => correction({ text: `batch ${i}` }));
    const broken = [...items];
    broken[3] = { ...items[3]!, kind: 'nope' };
    broken[7] = { ...items[7]!, kind: 'misclassification', correctLabel: '' };
    const r = await post('/v1/feedback/batch', { items: broken });
    expect(r.status).toBe(400);
    const issues = ((await r.json()) as { error: { issues: { path: (string | number)[] }[] } }).error.issues.map((i) => i.path.slice(0, 2).join('.'));
    expect(issues).toEqual(expect.arrayContaining(['items.3', 'items.7']));
    expect(await feedbackRows()).toBe(before);
    const ok = await post('/v1/feedback/batch', { items });
    expect(ok.status).toBe(202);
    const out = (await ok.json()) as { accepted: number; items: { sequence: number }[] };
    expect(out.accepted).toBe(10);
    const seqs = out.items.map((i) => i.sequence);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(await feedbackRows()).toBe(before + 10);
    expect((await post('/v1/feedback/batch', { items: Array.from({ length: 1001 }, () => correction()) })).status).toBe(400);
  });

  it('refuses oversized bodies with 413 and unknown models with 404, writing nothing', async () => {
    const before = await feedbackRows();
    const big = { items: Array.from({ length: 1000 }, () => correction({ text: 'x'.repeat(2000) })) };
    expect((await post('/v1/feedback/batch', big)).status).toBe(413);
    const r = await post('/v1/feedback', correction({ model: 'not-known' }));
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { details: unknown } }).error.details).toEqual({ unknownModels: ['not-known'] });
    expect(await feedbackRows()).toBe(before);
  });

  it('needs a key with the feedback scope on feedback routes and the admin scope on admin routes', async () => {
    const noKey = await fetch(`${base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(correction()) });
    expect(noKey.status).toBe(401);
    expect((await post('/v1/feedback', correction(), { 'x-api-key': 'wrong-key-0123456789abc' })).status).toBe(401);
    expect((await fetch(`${base}/v1/models/${model}/retraining`)).status).toBe(401);
    const admin = (h: Record<string, string>) => fetch(`${base}/v1/admin/models/other-model/retrain`, { method: 'POST', headers: { 'content-type': 'application/json', ...h }, body: JSON.stringify({ reason: 'test' }) });
    expect((await admin({})).status).toBe(401);
    expect((await admin({ authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
    // A feedback key is no admin key.
    expect((await admin({ 'x-api-key': API_KEY })).status).toBe(403);
  });

  it('fills predictedLabel, modelVersion and variant from the logged prediction', async () => {
    const predictionId = randomUUID();
    await svc.projection.onPrediction(makeEvent('predictions', { source: '/t', subject: model, data: { predictionId: predictionId as never, modelVersion: '1.2.3' as never, variant: 'challenger', text: 'hello', label: 'billing', confidence: 0.97, latencyMs: 3 } }));
    const r = await post('/v1/feedback', { model, predictionId, text: 'hello', kind: 'misclassification', correctLabel: 'shipping' });
    expect(r.status).toBe(202);
    const { feedbackId } = (await r.json()) as { feedbackId: string };
    const row = (await p.pool.query('SELECT predicted_label, model_version, variant FROM feedback WHERE id = $1', [feedbackId])).rows[0];
    expect(row).toEqual({ predicted_label: 'billing', model_version: '1.2.3', variant: 'challenger' });
    // A correction equal to the logged label is not a misclassification.
    expect((await post('/v1/feedback', { model, predictionId, text: 'hello', kind: 'misclassification', correctLabel: 'billing' })).status).toBe(400);
  });

  it('reports retraining status, takes the lock for a manual trigger and refuses a second one with 409', async () => {
    const st = await fetch(`${base}/v1/models/${model}/retraining`, { headers: { 'x-api-key': API_KEY } });
    expect(st.status).toBe(200);
    const status = (await st.json()) as { pendingCorrections: number; rules: { correctionThreshold: number }; currentJob: unknown };
    expect(status.pendingCorrections).toBe(await rows(`SELECT count(*) AS n FROM feedback WHERE kind = 'misclassification'`));
    expect(status.rules.correctionThreshold).toBe(20);
    expect(status.currentJob).toBeNull();

    const trigger = () => fetch(`${base}/v1/admin/models/${model}/retrain`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify({ reason: 'new labels arrived' }) });
    const t1 = await trigger();
    expect(t1.status).toBe(202);
    const t = (await t1.json()) as { triggerId: string; fencingToken: number; feedbackWatermark: number };
    const t2 = await trigger();
    expect(t2.status).toBe(409);
    const ev = (await p.pool.query('SELECT topic, event FROM flywheel_outbox WHERE event_id = $1', [t.triggerId])).rows[0];
    expect(ev).toMatchObject({ topic: 'retrainingTriggers', event: { subject: model, data: { reason: 'manual', note: 'new labels arrived', fencingToken: t.fencingToken } } });

    // The projections move the status along: the trigger resets pending, the job shows progress.
    await svc.projection.onTrigger(makeEvent('retrainingTriggers', { id: t.triggerId, source: '/t', subject: model, data: ev.event.data }));
    await svc.projection.onTrainingStatus(makeEvent('trainingStatus', { source: '/trainer', subject: model, data: { jobId: randomUUID() as never, state: 'running', progress: 0.4, stage: 'epoch 2' } }));
    const after = (await (await fetch(`${base}/v1/models/${model}/retraining`, { headers: { 'x-api-key': API_KEY } })).json()) as { pendingCorrections: number; lastTrigger: { fencingToken: number }; currentJob: { state: string; progress: number } };
    expect(after.pendingCorrections).toBe(0);
    expect(after.lastTrigger.fencingToken).toBe(t.fencingToken);
    expect(after.currentJob).toMatchObject({ state: 'running', progress: 0.4 });
  });
});
