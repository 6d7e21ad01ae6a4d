// feedback-ingest's composition root: config, the skeleton, stores, domain objects, what runs.
import { fileURLToPath } from 'node:url';
import { authMigrationsDir, createKeyring, createRateLimits } from '@flywheel/auth';
import { createRuleBook, FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir, runRetention } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { loadConfig, trustedReportersFor } from './config.js';
import { PgFeedbackStore } from './feedbackStore.js';
import { createIngestMetrics } from './ingestMetrics.js';
import { ingestRoutes } from './ingestRoutes.js';
import { PgLabelBook } from './labelBook.js';
import { createManualTrigger } from './manualTrigger.js';
import { RegistryCatalog } from './modelCatalog.js';
import { onProjectedEvents } from './onProjectedEvents.js';
import { ingestRetention } from './retention.js';
import { PgTrainingExamples } from './trainingExamples.js';
import { PgTrainingProjection } from './trainingProjection.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'feedback-ingest', config, bodyLimit: config.BODY_LIMIT });

// The shared outbox first: migration 002 moves the old outbox's unsent rows into it.
await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
// API keys (api_clients) and the registry (models and their labels) live in the same deployment schema.
await svc.migrate(authMigrationsDir, 'auth_migrations');
await svc.migrate(registryMigrationsDir, 'registry_migrations');
await svc.migrate(fileURLToPath(new URL('../migrations', import.meta.url)), 'feedback_ingest_migrations');

const pool = svc.pool();
// One relay per schema (the lock name): every service of a deployment shares the table. It relays
// only this service's rows, each validated once, when it was built (feedbackStore, manualTrigger):
// the validated publisher checks their envelope type and version, not the whole schema a second time.
const relay = createOutboxRelay({
  pool, publisher: svc.bus().validatedPublisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.feedbackIngest,
  batchSize: config.RELAY_BATCH_SIZE, idlePollMs: config.RELAY_IDLE_POLL_MS,
});
const projection = new PgTrainingProjection(pool);
const leases = new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX));
const keyring = await createKeyring({ pool, refreshMs: config.KEYRING_REFRESH_MS, adminToken: config.ADMIN_TOKEN, logger: svc.logger });
svc.onStop(async () => keyring.close());
svc.ready({ name: 'keyring', check: () => keyring.fresh() });
const limits = createRateLimits({ redis: svc.redis(), keyPrefix: `${config.REDIS_PREFIX}:rl:feedback-ingest`, limits: { feedback: { points: config.FEEDBACK_RATE_LIMIT_PER_MINUTE, durationSec: 60 } } });
const labels = new PgLabelBook(pool, trustedReportersFor(config));

const metrics = createIngestMetrics(svc.metrics);

// Every projection write is an upsert or insert-if-absent: a redelivery is harmless, so no dedupe round trip per batch.
svc.consume('feedback-ingest', onProjectedEvents(projection), { idempotentHandlers: true });
svc.every('retention', config.RETENTION_INTERVAL_MS, () => runRetention(pool, ingestRetention(config), { onDeleted: (table, n) => metrics.retentionDeleted.inc({ table }, n) }));
svc.every('outbox-prune', 3_600_000, async () => metrics.retentionDeleted.inc({ table: 'flywheel_outbox' }, await relay.prune({ olderThanMs: config.OUTBOX_SENT_KEEP_DAYS * 86_400_000 })));
svc.routes(ingestRoutes({
  logger: svc.logger,
  metrics,
  store: new PgFeedbackStore(pool, labels, { maxItems: config.INSERT_MERGE_MAX_ITEMS, concurrency: config.INSERT_MERGE_CONCURRENCY }),
  training: projection,
  examples: new PgTrainingExamples(pool),
  manualTrigger: createManualTrigger({ pool, leases, lockTtlMs: config.RETRAIN_LOCK_TTL_MS, latestSequence: (m, db) => projection.latestSequence(m, db), relay }),
  rulesFor: createRuleBook(config),
  keyring,
  limits,
  catalog: new RegistryCatalog(new PgRegistry(pool), { refreshMs: config.MODEL_CATALOG_REFRESH_MS }),
  labels,
  relay,
}));
relay.start();
svc.onStop(() => relay.stop());
await svc.start();
