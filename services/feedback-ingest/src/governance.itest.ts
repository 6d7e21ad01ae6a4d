// The attacks of "Safe by default" against feedback-ingest, each on the real stores: no key or the
// wrong scope, unknown models, NUL bytes, poisoned labels from a standard client, request floods.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { ADMIN, createKey, registerModel, startIngest, type StartedIngest } from './testPlatform.js';

let p: IsolatedPlatform;
let svc: StartedIngest;
let limited: StartedIngest | undefined;
const keys = { enduser: '', other: '', predictor: '', reviewer1: '', reviewer2: '' };
const model = 'gov-model';
const policyModel = 'gov-policy-model';

const call = (base: string, method: string, path: string, key: string | undefined, body?: unknown) =>
  fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const send = (key: string | undefined, body: unknown, path = '/v1/feedback') => call(svc.base, 'POST', path, key, body);
const correction = (label: string, extra: Record<string, unknown> = {}) => ({ model, text: `ticket about ${label}`, kind: 'misclassification', predictedLabel: 'low', correctLabel: label, ...extra });
const one = async <T>(sql: string, args: unknown[]): Promise<T> => (await p.pool.query(sql, args)).rows[0] as T;
const feedbackRows = async () => Number((await one<{ n: string }>('SELECT count(*) AS n FROM feedback', [])).n);
const examples = async (m: string) => {
  const r = await call(svc.base, 'GET', `/internal/v1/models/${m}/training-examples?pseudoLabelMinConfidence=1&pseudoLabelMaxRows=0`, ADMIN);
  expect(r.status).toBe(200);
  return (await r.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { label: string });
};
const pending = async (m: string) => ((await (await call(svc.base, 'GET', `/v1/models/${m}/retraining`, ADMIN)).json()) as { pendingCorrections: number }).pendingCorrections;

beforeAll(async () => {
  p = await isolatedPlatform('ingest-governance');
  svc = await startIngest(p, { env: { LABEL_AUTO_ACCEPT_JSON: JSON.stringify({ [policyModel]: 2 }) } });
  await registerModel(svc, model, ['low', 'high']);
  await registerModel(svc, policyModel, ['low', 'high']);
  keys.enduser = await createKey(svc, 'enduser', ['feedback']);
  keys.other = await createKey(svc, 'other-user', ['feedback']);
  keys.predictor = await createKey(svc, 'predictor', ['predict']);
  keys.reviewer1 = await createKey(svc, 'reviewer1', ['feedback'], 'trusted');
  keys.reviewer2 = await createKey(svc, 'reviewer2', ['feedback'], 'trusted');
}, 60_000);
afterAll(async () => {
  await limited?.svc.stop();
  await svc?.svc.stop();
  await p?.drop();
});

describe('feedback-ingest refuses what it must', () => {
  it('answers 401 without a valid key and 403 with the wrong scope on every route but health, readiness and metrics', async () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/feedback', correction('high')],
      ['POST', '/v1/feedback/batch', { items: [correction('high')] }],
      ['GET', `/v1/models/${model}/retraining`],
      ['POST', `/v1/admin/models/${model}/retrain`, { reason: 'x' }],
      ['GET', `/v1/admin/models/${model}/labels`],
      ['POST', `/v1/admin/models/${model}/labels/high/accept`],
      ['GET', `/internal/v1/models/${model}/training-examples?pseudoLabelMinConfidence=1&pseudoLabelMaxRows=0`],
    ];
    for (const [method, path, body] of routes) {
      const none = await call(svc.base, method, path, undefined, body);
      expect(none.status, `${method} ${path} without a key`).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await call(svc.base, method, path, 'fwk_not-a-real-key-000000', body)).status, `${method} ${path} with an unknown key`).toBe(401);
      expect((await call(svc.base, method, path, keys.predictor, body)).status, `${method} ${path} with a predict-only key`).toBe(403);
    }
    // A feedback key does not open admin routes.
    for (const [method, path, body] of routes.slice(3)) expect((await call(svc.base, method, path, keys.enduser, body)).status, `${method} ${path} with a feedback key`).toBe(403);
    for (const path of ['/healthz', '/metrics']) expect((await fetch(`${svc.base}${path}`)).status, path).toBe(200);
  });

  it('refuses feedback for a model the registry does not know with 404 naming it, writing nothing', async () => {
    const before = await feedbackRows();
    const r = await send(keys.enduser, correction('high', { model: 'never-registered' }));
    expect(r.status).toBe(404);
    const body = (await r.json()) as { error: { message: string; details: unknown } };
    expect(body.error.message).toContain('never-registered');
    expect(body.error.details).toEqual({ unknownModels: ['never-registered'] });
    expect((await send(keys.enduser, { items: [correction('high'), correction('high', { model: 'also-unknown' })] }, '/v1/feedback/batch')).status).toBe(404);
    expect((await call(svc.base, 'GET', '/v1/models/never-registered/retraining', keys.enduser)).status).toBe(404);
    expect(await feedbackRows()).toBe(before);
  });

  it('refuses a NUL character in text, label and reporter with 400 naming the field', async () => {
    const before = await feedbackRows();
    for (const [field, body] of [
      ['text', correction('high', { text: 'a\u0000b' })],
      ['correctLabel', correction('hi\u0000gh')],
      ['reporter', correction('high', { reporter: 'ali\u0000ce' })],
    ] as const) {
      const r = await send(keys.enduser, body);
      expect(r.status, field).toBe(400);
      const paths = ((await r.json()) as { error: { issues: { path: (string | number)[] }[] } }).error.issues.map((i) => i.path.join('.'));
      expect(paths, field).toContain(field);
    }
    expect(await feedbackRows()).toBe(before);
  });

  it('records who sent each item: the client and its trust, in the row and the event', async () => {
    const r = await send(keys.enduser, correction('high'));
    expect(r.status).toBe(202);
    const { feedbackId } = (await r.json()) as { feedbackId: string };
    expect(await one('SELECT client, client_trust, proposed_label FROM feedback WHERE id = $1', [feedbackId])).toEqual({ client: 'enduser', client_trust: 'standard', proposed_label: false });
    const { event } = await one<{ event: { data: Record<string, unknown> } }>('SELECT event FROM flywheel_outbox WHERE event_id = $1', [feedbackId]);
    expect(event.data).toMatchObject({ client: 'enduser', clientTrust: 'standard' });
    expect(event.data.proposedLabel).toBeUndefined();
  });

  it('stores a new label from a standard client as a proposal: not counted, not trainable, until an admin accepts it', async () => {
    const before = await pending(model);
    const sent = await Promise.all(Array.from({ length: 5 }, () => send(keys.enduser, correction('spaceships')).then(async (r) => ({ status: r.status, body: (await r.json()) as { feedbackId: string } }))));
    expect(sent.map((s) => s.status)).toEqual([202, 202, 202, 202, 202]);
    expect((await send(keys.other, correction('spaceships'))).status).toBe(202);
    const { event } = await one<{ event: { data: Record<string, unknown> } }>('SELECT event FROM flywheel_outbox WHERE event_id = $1', [sent[0]!.body.feedbackId]);
    expect(event.data).toMatchObject({ proposedLabel: true, client: 'enduser', clientTrust: 'standard', correctLabel: 'spaceships' });
    expect(await pending(model)).toBe(before);
    expect((await examples(model)).map((e) => e.label)).not.toContain('spaceships');
    const listed = (await (await call(svc.base, 'GET', `/v1/admin/models/${model}/labels`, ADMIN)).json()) as { labels: { label: string; reports: number; pendingItems: number; acceptedAt: string | null; reporters: { client: string }[] }[] };
    expect(listed.labels).toEqual([expect.objectContaining({ label: 'spaceships', reports: 6, pendingItems: 6, acceptedAt: null })]);
    expect(listed.labels[0]!.reporters.map((r) => r.client).sort()).toEqual(['enduser', 'other-user']);

    // The standard client cannot accept its own label.
    expect((await call(svc.base, 'POST', `/v1/admin/models/${model}/labels/spaceships/accept`, keys.enduser)).status).toBe(403);
    const accepted = await call(svc.base, 'POST', `/v1/admin/models/${model}/labels/spaceships/accept`, ADMIN);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toMatchObject({ label: 'spaceships', acceptedBy: 'admin', pendingItems: 0 });
    expect((await examples(model)).filter((e) => e.label === 'spaceships')).toHaveLength(6);
    expect(await pending(model)).toBe(before + 6);
    // Once accepted, the label is known: later reports are ordinary corrections.
    const later = (await (await send(keys.enduser, correction('spaceships'))).json()) as { feedbackId: string };
    expect(await one('SELECT proposed_label FROM feedback WHERE id = $1', [later.feedbackId])).toEqual({ proposed_label: false });
  });

  it('lets an admin who reports a new label accept it at once (how the stack teaches a model a new category)', async () => {
    const r = await send(ADMIN, { items: [correction('rockets'), correction('rockets')] }, '/v1/feedback/batch');
    expect(r.status).toBe(202);
    expect(await one('SELECT count(*)::int AS n FROM feedback WHERE correct_label = $1 AND proposed_label', ['rockets'])).toEqual({ n: 0 });
    expect(await one('SELECT accepted_by FROM proposed_labels WHERE model = $1 AND label = $2', [model, 'rockets'])).toEqual({ accepted_by: 'admin' });
    expect((await examples(model)).filter((e) => e.label === 'rockets')).toHaveLength(2);
  });

  it('accepts a label when K distinct trusted clients reported it, under the opt-in per-model policy, never for standard clients', async () => {
    const c = (key: string) => send(key, correction('comets', { model: policyModel }));
    for (let i = 0; i < 3; i++) expect((await c(keys.enduser)).status).toBe(202);
    expect((await c(keys.reviewer1)).status).toBe(202);
    expect((await c(keys.reviewer1)).status).toBe(202);
    expect(await one('SELECT accepted_at FROM proposed_labels WHERE model = $1 AND label = $2', [policyModel, 'comets'])).toEqual({ accepted_at: null });
    expect(await examples(policyModel)).toEqual([]);
    expect((await c(keys.reviewer2)).status).toBe(202);
    expect(await one('SELECT accepted_by FROM proposed_labels WHERE model = $1 AND label = $2', [policyModel, 'comets'])).toEqual({ accepted_by: 'policy:trusted-reporters' });
    expect((await examples(policyModel)).filter((e) => e.label === 'comets')).toHaveLength(6);
    // On the other model the policy is off: trusted reporters alone do not accept.
    await send(keys.reviewer1, correction('meteors'));
    await send(keys.reviewer2, correction('meteors'));
    expect(await one('SELECT accepted_at FROM proposed_labels WHERE model = $1 AND label = $2', [model, 'meteors'])).toEqual({ accepted_at: null });
  });

  it('limits each client\'s feedback requests and answers 429 with Retry-After', async () => {
    limited = await startIngest(p, { replica: 'limited', env: { FEEDBACK_RATE_LIMIT_PER_MINUTE: '3' } });
    const flooder = await createKey(limited, 'flooder', ['feedback']);
    const quiet = await createKey(limited, 'quiet', ['feedback']);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r = await call(limited.base, 'POST', '/v1/feedback', flooder, correction('high'));
      statuses.push(r.status);
      if (r.status === 429) retryAfter = r.headers.get('retry-after');
    }
    expect(statuses).toEqual([202, 202, 202, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    // Another client's budget is its own.
    expect((await call(limited.base, 'POST', '/v1/feedback', quiet, correction('high'))).status).toBe(202);
  });
});
