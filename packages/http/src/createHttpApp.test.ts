import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, createMetricsRegistry, Unauthorized } from '@flywheel/runtime';
import { createHttpApp, listen } from './index.js';

describe('createHttpApp', () => {
  let base = '';
  let close: () => Promise<void> = async () => {};
  let ready = true;
  beforeAll(async () => {
    const app = createHttpApp({
      service: 't',
      logger: createLogger({ service: 't', level: 'silent' }),
      metrics: createMetricsRegistry('t'),
      readiness: [{ name: 'db', check: () => ready }],
      bodyLimit: '1kb',
      routes: (a) => {
        a.post('/echo', (req, res) => { res.json(z.object({ n: z.number() }).parse(req.body)); });
        // Keys and scopes live in @flywheel/auth; here only the mapping of its errors is checked.
        a.get('/admin', (req, res) => {
          const auth = req.header('authorization');
          if (!auth) throw new Unauthorized('no key', 401);
          if (auth !== 'Bearer s3cret') throw new Unauthorized('wrong scope', 403);
          res.json({ ok: true });
        });
      },
    });
    const s = await listen(app, 0, '127.0.0.1');
    base = `http://127.0.0.1:${s.port}`;
    close = s.close;
  });
  afterAll(() => close());

  it('answers health, readiness and metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    ready = false;
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toContain('flywheel_http_request_duration_seconds');
    expect(m).toContain('flywheel_process_cpu');
  });

  it('turns a ZodError into a 400 with the issues, bad JSON into 400, big bodies into 413', async () => {
    const post = (body: string) => fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const r = await post(JSON.stringify({ n: 'x' }));
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { issues: { path: string[] }[] } };
    expect(body.error.issues[0]?.path).toEqual(['n']);
    expect((await post('{nope')).status).toBe(400);
    expect((await post(JSON.stringify({ n: 1, pad: 'x'.repeat(2000) }))).status).toBe(413);
    expect((await post(JSON.stringify({ n: 1 }))).status).toBe(200);
  });

  it('maps Unauthorized to 401 (no key) and 403 (wrong scope)', async () => {
    expect((await fetch(`${base}/admin`)).status).toBe(401);
    expect((await fetch(`${base}/admin`, { headers: { authorization: 'Bearer nope' } })).status).toBe(403);
    expect((await fetch(`${base}/admin`, { headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
  });
});
