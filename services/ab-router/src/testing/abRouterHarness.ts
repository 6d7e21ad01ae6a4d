// The ab-router composed the way main.ts does it, on one test file's private schema, Redis prefix
// and topic prefix (isolatedPlatform), with helpers to feed it events. Test-only (not built).
import { randomUUID } from 'node:crypto';
import { authMigrationsDir, createKeyring } from '@flywheel/auth';
import type { Bus } from '@flywheel/bus';
import { clientSource, FLYWHEEL_SOURCES, makeEvent, ModelName, ModelVersion, RoutingTable, type ArtifactRef, type ClientTrust, type DataOf, type EventOf } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir } from '@flywheel/postgres';
import { routingKey } from '@flywheel/redis';
import { migrateRegistry, PgRegistry } from '@flywheel/registry';
import { createService, type Service } from '@flywheel/service';
import { env, isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { createAbRouterMetrics } from '../abRouterMetrics.js';
import { adminRoutes } from '../adminRoutes.js';
import { loadConfig } from '../config.js';
import { createAbRouter, type AbRouter } from '../createAbRouter.js';
import { createDecisionTx } from '../decisionTx.js';
import { migrationsDir } from '../migrations.js';
import { PgExperimentStore } from '../PgExperimentStore.js';
import { PgRegistryPort } from '../PgRegistryPort.js';
import { RoutingPublisher } from '../RoutingPublisher.js';
import type { ServingHealth } from '../servingHealth.js';

export const ADMIN_TOKEN = 'x'.repeat(16);
/** The standard client that receives the predictions of these tests unless one says otherwise. */
export const APP_CLIENT = 'app';

export const v = (s: string): ModelVersion => ModelVersion.parse(s);
export const ref = (model: string, version: string): ArtifactRef => ({ bucket: 'b', prefix: `models/${model}/${version}/`, manifestKey: `models/${model}/${version}/manifest.json`, sha256: 'a'.repeat(64) });
export const version = (model: ModelName, ver: string) => ({ model, version: v(ver), baseVersion: 'base1', labels: ['a', 'b'], metrics: { accuracy: 0.9 }, artifact: ref(model, ver), actor: 'itest', reason: 'itest' });

/** Polls `probe` until it returns a value; the error names what was awaited and what was last seen. */
export const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined && got !== false) return got;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last seen: ${String(got)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** A prediction the tests publish, with whether it was right and the client it went to (default APP_CLIENT; null: none, an old event). */
export type Pred = { id: string; variant: 'champion' | 'challenger'; version: string; correct: boolean; subject: string; client?: string | null };
/** Who reports an outcome: via feedback-ingest (client and trust stamped) or as an outside producer (`/clients/<name>`). */
export type Reporter = { client?: string; trust?: ClientTrust; outside?: boolean; correct?: boolean };

export const predictionEvent = (model: string, p: Pred, experimentId?: string) => {
  const client = p.client === undefined ? APP_CLIENT : p.client;
  return makeEvent('predictions', {
    source: FLYWHEEL_SOURCES.serving, subject: model,
    data: {
      predictionId: p.id as never, modelVersion: v(p.version), variant: p.variant, subjectId: p.subject, ...(experimentId ? { experimentId } : {}),
      ...(client === null ? {} : { client: client as never }), text: 'some text', label: 'a', confidence: 0.8, latencyMs: 3,
    },
  });
};

/** Feedback on `p`; by default from the client the prediction went to, saying what `p.correct` says. */
export const feedbackEvent = (model: string, p: Pred, from: Reporter = {}) => {
  const client = from.client ?? (p.client ?? APP_CLIENT);
  const correct = from.correct ?? p.correct;
  const base = { feedbackId: randomUUID() as never, predictionId: p.id as never, text: 'some text', kind: correct ? 'thumbs_up' : 'thumbs_down' };
  return from.outside
    ? makeEvent('feedback', { source: clientSource(client), subject: model, data: base as DataOf<'feedback'> })
    : makeEvent('feedback', { source: FLYWHEEL_SOURCES.feedbackIngest, subject: model, data: { ...base, client, clientTrust: from.trust ?? 'standard' } as DataOf<'feedback'> });
};

/**
 * Starts the ab-router on a private platform. `servingHealth` is our own ServingHealthSource
 * interface, faked: what serving's /metrics said over the last interval, per model.
 */
export const startAbRouter = async (name: string) => {
  const run = randomUUID().slice(0, 8);
  const p: IsolatedPlatform = await isolatedPlatform(name);
  const bus: Bus = p.newBus();
  const registry = new PgRegistry(p.pool);
  const updates: EventOf<'modelUpdates'>[] = [];
  const health = { serving: new Map<string, ServingHealth>() };
  let svc: Service | undefined;
  const stop = async (): Promise<void> => {
    try {
      await svc?.stop();
      await bus.close();
    } finally {
      await p.drop();
    }
  };
  try {
    const config = loadConfig({
      KAFKA_BROKERS: p.brokers.join(','), POSTGRES_URL: env('POSTGRES_URL'), REDIS_URL: env('REDIS_URL'), LOG_LEVEL: p.logger.level,
      PORT: '0', PG_SCHEMA: p.schema, REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix, ADMIN_TOKEN, EVAL_INTERVAL_MS: '0',
    });
    const s = createService({ name: `${name}-itest`, config, handleSignals: false });
    svc = s;
    await s.migrate(outboxMigrationsDir, 'outbox_migrations');
    await migrateRegistry(s.pool());
    await s.migrate(migrationsDir, 'ab_router_migrations');
    await s.migrate(authMigrationsDir, 'auth_migrations');
    const keyring = await createKeyring({ pool: s.pool(), refreshMs: 200, adminToken: config.ADMIN_TOKEN, logger: s.logger });
    s.onStop(async () => keyring.close());
    const relay = createOutboxRelay({ pool: s.pool(), publisher: s.bus().publisher, logger: s.logger, metrics: s.metrics, lockName: `${p.schema}.outbox`, source: FLYWHEEL_SOURCES.abRouter, idlePollMs: 50 });
    relay.start();
    s.onStop(() => relay.stop());
    const routing = new RoutingPublisher({ redis: s.redis(), redisPrefix: config.REDIS_PREFIX });
    const router: AbRouter = createAbRouter({
      store: new PgExperimentStore(s.pool()), routing, registry: new PgRegistryPort(new PgRegistry(s.pool())),
      decide: createDecisionTx({ pool: s.pool(), routing, source: FLYWHEEL_SOURCES.abRouter, committed: () => relay.nudge() }),
      logger: s.logger, metrics: createAbRouterMetrics(s.metrics),
      settings: { defaults: { minSamplePerArm: 200 }, perModel: {} },
      health: {
        windowSize: 100, minSamples: 50, maxAccuracyDrop: 0.1,
        serving: { source: { sample: async () => health.serving }, limits: { minRequests: 100, maxErrorRate: 0.05, maxP99Ms: 1000 } },
      },
    });
    await router.resumeDecisions({ graceMs: 0 });
    s.consume('ab-router', router.handlers);
    s.every('evaluate', config.EVAL_INTERVAL_MS, router.tick);
    s.routes(adminRoutes(router, keyring));
    const { port } = await s.start();
    await bus.consume(`abr-${run}-watch`, { modelUpdates: async (e) => { updates.push(e); } });

    /** A model with champion 1.0.0 and challenger 1.0.1 registered, and the registration announced. */
    const modelWithChallenger = async (): Promise<{ model: ModelName; experimentId: string; salt: string }> => {
      const model = ModelName.parse(`abr-${run}-${randomUUID().slice(0, 6)}`);
      await registry.registerChampion(version(model, '1.0.0'));
      await registry.registerChallenger(version(model, '1.0.1'));
      await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
        source: FLYWHEEL_SOURCES.trainer, subject: model,
        data: { action: 'challenger_registered', version: v('1.0.1'), artifact: ref(model, '1.0.1'), metrics: { accuracy: 0.9 } },
      }));
      const e = await until('experiment started', async () => (await router.list({ model, state: 'running' }))[0]);
      return { model, experimentId: e.id, salt: e.salt };
    };
    /** Predictions with a counted outcome, of an experiment or of a model's version. */
    const labelled = async (of: { experimentId?: string; model?: string; version?: string }): Promise<number> => {
      const r = of.experimentId
        ? await p.pool.query<{ n: string }>('SELECT count(correct) AS n FROM ab_outcomes WHERE experiment_id = $1', [of.experimentId])
        : await p.pool.query<{ n: string }>('SELECT count(correct) AS n FROM ab_outcomes WHERE model = $1 AND model_version = $2', [of.model, of.version]);
      return Number(r.rows[0]?.n ?? 0);
    };
    /** Outcome reports kept for these predictions (counted or not). */
    const reports = async (predictionIds: string[]): Promise<number> =>
      (await p.pool.query('SELECT 1 FROM ab_outcome_reports WHERE prediction_id = ANY($1::uuid[])', [predictionIds])).rowCount ?? 0;
    const routingOf = async (model: string): Promise<RoutingTable> => RoutingTable.parse(JSON.parse((await p.redis.get(routingKey(p.redisPrefix, model))) ?? 'null'));

    return { run, p, bus, registry, svc: s, router, port, updates, health, stop, modelWithChallenger, labelled, reports, routingOf };
  } catch (err) {
    await stop();
    throw err;
  }
};

export type AbRouterHarness = Awaited<ReturnType<typeof startAbRouter>>;
