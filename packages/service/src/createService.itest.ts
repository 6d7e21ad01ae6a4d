import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent, type EventOf } from '@flywheel/contracts';
import { createPool } from '@flywheel/postgres';
import { createRedis } from '@flywheel/redis';
import { createService } from './createService.js';
import { ServiceConfig } from './serviceConfig.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set: run bash scripts/platform.sh up and source .flywheel/platform.env`);
  return v;
};
const run = randomUUID().slice(0, 8);
const schema = `svc_it_${run}`;
const redisPrefix = `t-svc-${run}`;
const admin = createPool(env('POSTGRES_URL'), { max: 1 });

afterAll(async () => {
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  const r = createRedis(env('REDIS_URL'));
  const keys = await r.keys(`${redisPrefix}:*`);
  if (keys.length > 0) await r.del(...keys);
  await r.quit();
});

describe('createService on the real stores', () => {
  it('serves health, readiness and metrics, consumes, runs schedules and stops in order', async () => {
    await admin.query(`CREATE SCHEMA "${schema}"`);
    const config = ServiceConfig.parse({
      KAFKA_BROKERS: env('KAFKA_BROKERS'), POSTGRES_URL: env('POSTGRES_URL'), REDIS_URL: env('REDIS_URL'), LOG_LEVEL: 'silent',
      PORT: '0', PG_SCHEMA: schema, REDIS_PREFIX: redisPrefix, TOPIC_PREFIX: `svc-${run}-`, KAFKA_SESSION_TIMEOUT_MS: '6000',
    });
    const svc = createService({ name: 'svc-itest', config, handleSignals: false });
    // The pool lands in the deployment's schema.
    expect((await svc.pool().query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s).toBe(schema);
    const seen: EventOf<'feedback'>[] = [];
    svc.consume('svc-itest', { feedback: async (e) => { seen.push(e); } });
    let ticks = 0;
    svc.every('tick', 50, async () => { ticks++; });
    svc.routes((app) => app.get('/hello', (_req, res) => { res.json({ ok: true }); }));
    const { port } = await svc.start();

    const base = `http://127.0.0.1:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = (await (await fetch(`${base}/readyz`)).json()) as { checks?: Record<string, string> };
    expect(JSON.stringify(ready)).toContain('postgres');
    expect(JSON.stringify(ready)).toContain('redis');
    expect(await (await fetch(`${base}/hello`)).json()).toEqual({ ok: true });
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('flywheel_http_request_duration_seconds');

    const id = randomUUID();
    await svc.bus().publisher.publish('feedback', makeEvent('feedback', { source: '/clients/svc-itest', subject: 'm', id, data: { feedbackId: id, kind: 'confirmation', text: 'a kettle', predictedLabel: 'kitchen' } as never }));
    const deadline = Date.now() + 30_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(seen.map((e) => e.id)).toEqual([id]);
    expect(ticks).toBeGreaterThan(0);

    await svc.stop();
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
    await expect(svc.pool().query('SELECT 1')).rejects.toThrow();
  });
});
