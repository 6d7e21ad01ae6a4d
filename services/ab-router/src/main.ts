// The ab-router's composition root: config, the service skeleton, migrations, the core over its
// stores, then what runs (consumer, schedules, admin API).
import { authMigrationsDir, createKeyring } from '@flywheel/auth';
import { FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, createPgLeadership, outboxMigrationsDir } from '@flywheel/postgres';
import { migrateRegistry, PgRegistry } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { createAbRouterMetrics, createRetentionMetrics } from './abRouterMetrics.js';
import { adminRoutes } from './adminRoutes.js';
import { defaultSettings, loadConfig } from './config.js';
import { createAbRouter } from './createAbRouter.js';
import { createDecisionTx } from './decisionTx.js';
import { migrationsDir } from './migrations.js';
import { openApiRoute } from './openApiRoute.js';
import { retainOutcomes } from './outcomeRetention.js';
import { PgExperimentStore } from './PgExperimentStore.js';
import { PgRegistryPort } from './PgRegistryPort.js';
import { RoutingPublisher } from './RoutingPublisher.js';
import { ServingHealthProbe } from './ServingHealthProbe.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'ab-router', config });

await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
await migrateRegistry(svc.pool());
await svc.migrate(migrationsDir, 'ab_router_migrations');
await svc.migrate(authMigrationsDir, 'auth_migrations');

// Admin routes need a key with the `admin` scope; ADMIN_TOKEN is the built-in admin client.
const keyring = await createKeyring({ pool: svc.pool(), refreshMs: 5_000, adminToken: config.ADMIN_TOKEN, logger: svc.logger });
svc.onStop(async () => keyring.close());
svc.ready({ name: 'keyring', check: () => keyring.fresh() });

// Decisions' model-updates events leave through the shared outbox; one relay per schema publishes them.
const relay = createOutboxRelay({ pool: svc.pool(), publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.abRouter });
relay.start();
svc.onStop(() => relay.stop());

// One leader per schema runs decisions (issue 13): a session advisory lock on its own connection,
// checked every few seconds and before each tick; a lost session is lost leadership. During a
// rolling deploy the old and the new pod contend and only one decides.
const metrics = createAbRouterMetrics(svc.metrics);
const leadership = createPgLeadership({ connectionString: config.POSTGRES_URL, key: `${config.PG_SCHEMA}.ab-router`, logger: svc.logger, onChange: (leader) => metrics.leader.set(leader ? 1 : 0) });
metrics.leader.set(0);
svc.onStop(() => leadership.close());

const routing = new RoutingPublisher({ redis: svc.redis(), redisPrefix: config.REDIS_PREFIX });
const router = createAbRouter({
  store: new PgExperimentStore(svc.pool()),
  routing,
  registry: new PgRegistryPort(new PgRegistry(svc.pool())),
  decide: createDecisionTx({ pool: svc.pool(), routing, source: FLYWHEEL_SOURCES.abRouter, committed: () => relay.nudge() }),
  logger: svc.logger,
  metrics,
  isLeader: leadership.isLeader,
  settings: { defaults: defaultSettings(config), perModel: config.EXPERIMENT_OVERRIDES },
  health: {
    windowSize: config.HEALTH_WINDOW,
    minSamples: config.HEALTH_MIN_SAMPLES,
    maxAccuracyDrop: config.HEALTH_MAX_ACCURACY_DROP,
    ...(config.SERVING_METRICS_URLS
      ? {
          serving: {
            source: new ServingHealthProbe(config.SERVING_METRICS_URLS),
            limits: { minRequests: config.HEALTH_MIN_REQUESTS, maxErrorRate: config.HEALTH_MAX_ERROR_RATE, maxP99Ms: config.HEALTH_MAX_P99_MS },
          },
        }
      : {}),
  },
});

// Decisions a crash left half-applied are finished (by the leader) before any new event is handled.
if (await leadership.check()) await router.resumeDecisions({ graceMs: 0 });
svc.consume('ab-router', router.handlers);
svc.every('leadership', 5_000, leadership.check);
svc.every('evaluate', config.EVAL_INTERVAL_MS, async () => {
  if (await leadership.check()) await router.tick();
});
svc.every('outbox-prune', 3_600_000, () => relay.prune({ olderThanMs: config.OUTBOX_SENT_KEEP_DAYS * 86_400_000 }));
svc.every('retention', config.RETENTION_INTERVAL_MS, retainOutcomes(svc.pool(), config, createRetentionMetrics(svc.metrics)));
svc.routes(adminRoutes(router, keyring));
svc.routes(openApiRoute());
await svc.start();
