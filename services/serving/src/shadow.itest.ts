import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type EventOf } from '@flywheel/contracts';
import type { Bus } from '@flywheel/bus';
import { routingKey } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { adminHeaders, servingEnv, startInProcessServing, type InProcessServing } from './testing/inProcessServing.js';
import { publishVersion, syntheticExamples, TINY_OPTIONS, trainState } from './testing/modelFixtures.js';

const run = randomUUID().slice(0, 8);
const model = `itest-shadow-${run}`;
const shadowExperimentId = randomUUID();

describe('shadow scoring on real PostgreSQL, Redis, Kafka and S3', () => {
  // Private schema, Redis prefix, topic prefix and bucket, all removed in afterAll.
  let p: IsolatedPlatform;
  let bus: Bus;
  let serving: InProcessServing;
  const logged: EventOf<'predictions'>[] = [];

  beforeAll(async () => {
    p = await isolatedPlatform('serving-shadow');
    await migrateRegistry(p.pool);
    const registry = new PgRegistry(p.pool);
    const artifacts = new MinioArtifactStore(await p.objectStore());
    bus = p.newBus();
    const { state } = await trainState(syntheticExamples(['alpha', 'beta', 'gamma'], 40), TINY_OPTIONS);
    await publishVersion({ registry, artifacts }, { model, version: '1.0.0', state, role: 'champion' });
    await publishVersion({ registry, artifacts }, { model, version: '1.0.1', state, role: 'challenger' });
    // The ab-router's cached table for a shadow test: everyone gets 1.0.0, 1.0.1 scores in shadow.
    await p.redis.set(routingKey(p.redisPrefix, model), JSON.stringify({ champion: '1.0.0', challengerShareBps: 0, salt: 'exp', revision: 1, shadow: '1.0.1', shadowExperimentId }));
    await bus.consume(`itest-shadow-${run}-reader`, { predictions: async (e) => void logged.push(e) });
    serving = await startInProcessServing({
      ...servingEnv({ ...p, env: process.env }),
      SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-shadow-${run}`, PREDICTION_FLUSH_MS: '20',
    });
  });

  afterAll(async () => {
    try {
      await serving?.close();
      await bus?.close();
    } finally {
      await p?.drop();
    }
  });

  it('answers with the champion and logs each answer with the shadow version\'s label for the same request', async () => {
    const base = `http://127.0.0.1:${serving.port}`;
    const info = (await (await fetch(`${base}/v1/models/${model}`, { headers: adminHeaders })).json()) as { shadow?: { version: string } };
    expect(info.shadow?.version).toBe('1.0.1');
    const single = await fetch(`${base}/v1/models/${model}/predict`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ text: 'alphax1 alphax2 alphax3', subjectId: 'u-1' }) });
    const batch = await fetch(`${base}/v1/models/${model}/predict:batch`, { method: 'POST', headers: adminHeaders, body: JSON.stringify({ items: [{ text: 'betax1 betax2' }, { text: 'gammax1 gammax2' }] }) });
    expect([single.status, batch.status]).toEqual([200, 200]);
    const answers = [(await single.json()) as { predictionId: string; label: string; modelVersion: string }, ...((await batch.json()) as { predictions: { predictionId: string; label: string; modelVersion: string }[] }).predictions];
    expect(answers.every((a) => a.modelVersion === '1.0.0')).toBe(true);

    const deadline = Date.now() + 45_000;
    while (answers.some((a) => !logged.some((e) => e.data.predictionId === a.predictionId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const a of answers) {
      const e = logged.find((x) => x.data.predictionId === a.predictionId);
      expect(e, `event of ${a.predictionId}`).toBeDefined();
      expect(topics.predictions.schema.safeParse(e).success).toBe(true);
      expect(e?.data).toMatchObject({ modelVersion: '1.0.0', variant: 'champion', label: a.label, shadow: { modelVersion: '1.0.1', experimentId: shadowExperimentId } });
      // Same weights in both versions here, so the shadow agrees with the champion.
      expect(e?.data.shadow?.label).toBe(a.label);
    }
    expect(logged.filter((e) => answers.some((a) => a.predictionId === e.data.predictionId))).toHaveLength(answers.length); // each answer logged once
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(new RegExp(`flywheel_serving_shadow_scored_total\\{[^}]*model="${model}"[^}]*\\} 3`));
  });
});
