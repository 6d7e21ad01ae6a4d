// Test-only (excluded from the build): feedback-ingest composed the way main.ts composes it, on an
// isolated platform, with the seams a test needs (the relay's publisher, extra settings).
import { fileURLToPath } from 'node:url';
import { authMigrationsDir, createClient, createKeyring, createRateLimits, type Scope } from '@flywheel/auth';
import { createRuleBook, FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir, type OutboxPublisher } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { env, type IsolatedPlatform } from '@flywheel/testing';
import { IngestConfig, trustedReportersFor } from './config.js';
import { PgFeedbackStore } from './feedbackStore.js';
import { createIngestMetrics } from './ingestMetrics.js';
import { ingestRoutes } from './ingestRoutes.js';
import { PgLabelBook } from './labelBook.js';
import { createManualTrigger } from './manualTrigger.js';
import { RegistryCatalog } from './modelCatalog.js';
import { onProjectedEvents } from './onProjectedEvents.js';
import { PgTrainingExamples } from './trainingExamples.js';
import { PgTrainingProjection } from './trainingProjection.js';

export const ADMIN = 'admin-token-0123456789';

/** Starts feedback-ingest on `p` (schema, prefixes); `replica` names its consumer group so replicas do not rebalance each other. */
export const startIngest = async (p: IsolatedPlatform, o: { env?: Record<string, string>; publisher?: OutboxPublisher; replica?: string } = {}) => {
  const config = IngestConfig.parse({
    KAFKA_BROKERS: p.brokers.join(','), POSTGRES_URL: env('POSTGRES_URL'), REDIS_URL: env('REDIS_URL'), LOG_LEVEL: 'silent', PORT: '0',
    PG_SCHEMA: p.schema, REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix, ADMIN_TOKEN: ADMIN, RELAY_IDLE_POLL_MS: '50', KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...o.env,
  });
  const svc = createService({ name: 'feedback-ingest', config, bodyLimit: config.BODY_LIMIT, handleSignals: false });
  await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
  await svc.migrate(authMigrationsDir, 'auth_migrations');
  await svc.migrate(registryMigrationsDir, 'registry_migrations');
  await svc.migrate(fileURLToPath(new URL('../migrations', import.meta.url)), 'feedback_ingest_migrations');
  const pool = svc.pool();
  const relay = createOutboxRelay({
    pool, publisher: o.publisher ?? svc.bus().validatedPublisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.feedbackIngest,
    batchSize: config.RELAY_BATCH_SIZE, idlePollMs: config.RELAY_IDLE_POLL_MS,
  });
  const projection = new PgTrainingProjection(pool);
  const leases = new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX));
  const keyring = await createKeyring({ pool, refreshMs: config.KEYRING_REFRESH_MS, adminToken: config.ADMIN_TOKEN, logger: svc.logger });
  svc.onStop(async () => keyring.close());
  svc.ready({ name: 'keyring', check: () => keyring.fresh() });
  const limits = createRateLimits({ redis: svc.redis(), keyPrefix: `${config.REDIS_PREFIX}:rl:feedback-ingest`, limits: { feedback: { points: config.FEEDBACK_RATE_LIMIT_PER_MINUTE, durationSec: 60 } } });
  const labels = new PgLabelBook(pool, trustedReportersFor(config));
  svc.consume(`feedback-ingest-${o.replica ?? 'a'}`, onProjectedEvents(projection), { idempotentHandlers: true });
  svc.routes(ingestRoutes({
    logger: svc.logger, metrics: createIngestMetrics(svc.metrics), store: new PgFeedbackStore(pool, labels, { maxItems: config.INSERT_MERGE_MAX_ITEMS, concurrency: config.INSERT_MERGE_CONCURRENCY }), training: projection, examples: new PgTrainingExamples(pool),
    manualTrigger: createManualTrigger({ pool, leases, lockTtlMs: config.RETRAIN_LOCK_TTL_MS, latestSequence: (m, db) => projection.latestSequence(m, db), relay }),
    rulesFor: createRuleBook(config), keyring, limits, labels, relay,
    catalog: new RegistryCatalog(new PgRegistry(pool), { refreshMs: config.MODEL_CATALOG_REFRESH_MS, missRefreshMs: 0 }),
  }));
  relay.start();
  svc.onStop(() => relay.stop());
  const { port } = await svc.start();
  return { svc, relay, projection, leases, keyring, labels, base: `http://127.0.0.1:${port}` };
};
export type StartedIngest = Awaited<ReturnType<typeof startIngest>>;

/** Registers `model` with a champion that knows `labels` (feedback for an unregistered model is refused); once per schema. */
export const registerModel = async (ingest: StartedIngest, model: string, labels: string[]): Promise<void> => {
  const registry = new PgRegistry(ingest.svc.pool());
  if (await registry.champion(model as never)) return;
  await registry.registerChampion({
    model: model as never, version: '1.0.0' as never, baseVersion: 'base-test', labels, metrics: {},
    artifact: { bucket: 'test', prefix: `models/${model}/1.0.0`, manifestKey: `models/${model}/1.0.0/manifest.json`, sha256: '0'.repeat(64) },
    actor: 'test', reason: 'test model',
  });
};

/** Creates an API client and returns its key, already loaded by the service's keyring. */
export const createKey = async (ingest: StartedIngest, name: string, scopes: Scope[], trust: 'trusted' | 'standard' = 'standard'): Promise<string> => {
  const { key } = await createClient(ingest.svc.pool(), { name, scopes, trust, createdBy: 'test' });
  await ingest.keyring.refresh();
  return key;
};
