import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, topics, type DataOf, type EventOf } from '@flywheel/contracts';
import type { Bus } from '@flywheel/bus';
import type { TrainingState } from '@flywheel/learning';
import { routingKey } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';
import { publishVersion, syntheticExamples, TINY_OPTIONS, trainState } from './testing/modelFixtures.js';

const run = randomUUID().slice(0, 8);
const model = `itest-serving-${run}`;

describe('serving on real PostgreSQL, Redis, Kafka and S3', () => {
  // Private schema, Redis prefix, topic prefix and bucket, all removed in afterAll.
  let p: IsolatedPlatform;
  let bus: Bus;
  let serving: InProcessServing;
  let registry: PgRegistry;
  let artifacts: MinioArtifactStore;
  let state: TrainingState;
  let base = '';
  const logged: EventOf<'predictions'>[] = [];

  const update = (data: DataOf<'modelUpdates'>) =>
    bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: '/flywheel/ab-router/itest', subject: model, data }));
  const info = async () => (await (await fetch(`${base}/v1/models/${model}`, { headers: adminHeaders })).json()) as {
    champion?: { version: string }; challenger?: { version: string }; standby: string[]; loaded: string[]; routing?: { revision: number };
    lastSwap?: { seconds: number; action: string };
  };
  const until = async (what: string, cond: () => Promise<boolean>, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };

  beforeAll(async () => {
    p = await isolatedPlatform('serving');
    await migrateRegistry(p.pool);
    registry = new PgRegistry(p.pool);
    artifacts = new MinioArtifactStore(await p.objectStore());
    bus = p.newBus();
    ({ state } = await trainState(syntheticExamples(['alpha', 'beta', 'gamma'], 40), TINY_OPTIONS));
    await publishVersion({ registry, artifacts }, { model, version: '1.0.0', state, role: 'champion' });
    await publishVersion({ registry, artifacts }, { model, version: '1.0.1', state, role: 'challenger' });
    // The ab-router's cached table: 1.0.1 already on 30 % of subjects.
    await p.redis.set(routingKey(p.redisPrefix, model), JSON.stringify({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 3000, salt: 'exp', revision: 1 }));
    await bus.consume(`itest-serving-${run}-reader`, { predictions: async (e) => void logged.push(e) });
    // Composed as main.ts composes it, in this file's schema, prefixes and bucket.
    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-itest-${run}`, RELEASE_GRACE_MS: '50', PREDICTION_FLUSH_MS: '20',
    });
    base = `http://127.0.0.1:${serving.port}`;
  });

  afterAll(async () => {
    try {
      await serving?.close();
      await bus?.close();
    } finally {
      await p?.drop();
    }
  });

  it('starts on the cached routing table and answers with the real model', async () => {
    const i = await info();
    expect(i.champion?.version).toBe('1.0.0');
    expect(i.challenger?.version).toBe('1.0.1');
    expect(i.routing?.revision).toBe(1);
    const r = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ text: 'alphax1 alphax2 alphax3 noise1', subjectId: 'u-1', topK: 3 }) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { label: string; topK: { label: string }[]; modelVersion: string };
    expect(body.label).toBe('alpha');
    expect(body.topK).toHaveLength(3);
    expect(['1.0.0', '1.0.1']).toContain(body.modelVersion);
  });

  it('hot-swaps several times under concurrent load with zero failed requests', async () => {
    const failures: string[] = [];
    const seen: { version: string; at: number }[] = [];
    let stop = false;
    let requests = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const batch = i % 4 === 0;
        const path = batch ? 'predict:batch' : 'predict';
        const body = batch
          ? { items: Array.from({ length: 8 }, (_, k) => ({ text: `betax${k} noise${k} betax1`, subjectId: `w${w}-${k}` })) }
          : { text: `gammax${i % 8} noise3 gammax1`, subjectId: `w${w}-${i % 50}` };
        const startedAt = Date.now();
        try {
          const r = await fetch(`${base}/v1/models/${model}/${path}`, { method: 'POST', headers: adminHeaders, body: JSON.stringify(body) });
          const json = (await r.json()) as { modelVersion?: string; predictions?: { modelVersion: string }[] };
          requests++;
          if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(json)}`);
          else for (const p of json.predictions ?? [json]) seen.push({ version: p.modelVersion!, at: startedAt });
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const load = Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
    const waitFor = (what: string, cond: (i: Awaited<ReturnType<typeof info>>) => boolean) => until(what, async () => cond(await info()));

    await new Promise((r) => setTimeout(r, 300));
    await update({ action: 'promoted', version: '1.0.1' as never, previous: '1.0.0' as never, reason: 'won' });
    await waitFor('1.0.1 champion', (i) => i.champion?.version === '1.0.1' && i.challenger === undefined);
    await new Promise((r) => setTimeout(r, 300));

    const v2 = await publishVersion({ registry, artifacts }, { model, version: '1.0.2', state, role: 'challenger' });
    await update({ action: 'challenger_registered', version: '1.0.2' as never, artifact: v2.artifact, metrics: v2.metrics });
    await waitFor('1.0.2 loaded in standby', (i) => i.standby.includes('1.0.2'));
    await update({ action: 'routing_changed', routing: { champion: '1.0.1' as never, challenger: '1.0.2' as never, challengerShareBps: 5000, salt: 'exp-2', revision: 2 } });
    await waitFor('1.0.2 challenger', (i) => i.challenger?.version === '1.0.2');
    await new Promise((r) => setTimeout(r, 300));
    await update({ action: 'promoted', version: '1.0.2' as never, previous: '1.0.1' as never, reason: 'won again' });
    await waitFor('1.0.2 champion', (i) => i.champion?.version === '1.0.2');
    await new Promise((r) => setTimeout(r, 300));
    // 1.0.1 was released after the promotion: rolling back to it loads it again from the registry and S3.
    await update({ action: 'rolled_back', version: '1.0.1' as never, from: '1.0.2' as never, reason: 'error rate', automatic: true });
    await waitFor('rollback to 1.0.1', (i) => i.champion?.version === '1.0.1');
    const switchedAt = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;

    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(100);
    const versions = new Set(seen.map((s) => s.version));
    expect(versions).toEqual(new Set(['1.0.0', '1.0.1', '1.0.2']));
    // requests started after the rollback was seen serving all ran on 1.0.1
    expect(new Set(seen.filter((s) => s.at > switchedAt).map((s) => s.version))).toEqual(new Set(['1.0.1']));
    const last = await info();
    expect(last.lastSwap?.action).toBe('rolled_back');
    expect(last.lastSwap?.seconds).toBeLessThan(5);
    await until('old versions released', async () => (await info()).loaded.join() === '1.0.1');
  });

  it('logs answers to the predictions topic with their version and variant', async () => {
    // The log is asynchronous (and the mock broker's fetch loop slow): wait for the events of the last phases.
    await until('prediction events of 1.0.2', async () => logged.some((e) => e.data.modelVersion === '1.0.2'), 45_000);
    for (const e of logged.slice(0, 50)) expect(topics.predictions.schema.safeParse(e).success).toBe(true);
    expect(new Set(logged.map((e) => e.data.modelVersion))).toContain('1.0.2');
    expect(logged.every((e) => e.subject === model)).toBe(true);
    // every answer went to the admin client (ADMIN_TOKEN), and its events say so
    expect(logged.every((e) => e.data.client === 'admin')).toBe(true);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(/flywheel_serving_swap_duration_seconds_count\{[^}]*action="promoted"[^}]*\} 2/);
    expect(m).not.toMatch(/flywheel_serving_predictions_dropped_total\{[^}]*\} [1-9]/);
  });
});
