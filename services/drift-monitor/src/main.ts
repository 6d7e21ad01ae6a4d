import { authMigrationsDir, createKeyring } from '@flywheel/auth';
import { FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { adminRoutes } from './adminRoutes.js';
import { driftSettings, loadConfig } from './config.js';
import { createDriftMonitor } from './createDriftMonitor.js';
import { createDriftMetrics } from './driftMetrics.js';
import { migrationsDir } from './migrations.js';
import { onReportEvents } from './onReportEvents.js';
import { PgReportHistory } from './ReportHistory.js';
import { reportRoutes } from './reportRoutes.js';
import { httpExperimentSource, httpLabelSource } from './reportSources.js';
import { RetrainTrigger } from './RetrainTrigger.js';
import { RegistryTrainingSnapshots } from './TrainingSnapshots.js';
import { createWeeklyReports } from './weeklyReports.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'drift-monitor', config });
const source = FLYWHEEL_SOURCES.driftMonitor;
// The registry is read only; its tables may not exist yet when the drift-monitor starts first.
await svc.migrate(registryMigrationsDir, 'registry_migrations');
await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
await svc.migrate(migrationsDir, 'drift_monitor_migrations');
await svc.migrate(authMigrationsDir, 'auth_migrations');
const keyring = await createKeyring({ pool: svc.pool(), adminToken: config.ADMIN_TOKEN, logger: svc.logger });
svc.onStop(() => keyring.close());
svc.ready({ name: 'keyring', check: () => keyring.fresh() });

// Retraining triggers: drift_triggers row + outbox row in one transaction, published by the one relay.
const relay = createOutboxRelay({ pool: svc.pool(), publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.driftMonitor });
svc.onStop(() => relay.stop());
svc.every('outbox-prune', 3_600_000, () => relay.prune({ olderThanMs: config.OUTBOX_SENT_KEEP_DAYS * 86_400_000 }));
const trigger = new RetrainTrigger({
  pool: svc.pool(), leases: new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX)), relay,
  lockTtlMs: config.RETRAIN_LOCK_TTL_MS, cooldownMs: config.DRIFT_COOLDOWN_MS, source,
});
const monitor = createDriftMonitor({
  publisher: svc.bus().publisher, trigger, logger: svc.logger, metrics: createDriftMetrics(svc.metrics), settings: driftSettings(config), source,
  snapshots: new RegistryTrainingSnapshots(new PgRegistry(svc.pool()), new MinioArtifactStore(await svc.objectStore())),
});
// References survive a restart: the champions' snapshots are read again before consuming.
await monitor.watchChampions();

svc.consume('drift-monitor', monitor.handlers);
if (config.WINDOW_MAX_MS > 0) svc.every('stale-windows', Math.min(config.WINDOW_MAX_MS, 10_000), () => monitor.closeStaleWindows());
svc.routes(adminRoutes({ monitor, keyring }));

// Weekly reports: windows and feedback verdicts kept by their own consumer group (the analysis never
// waits on it); the other services' parts read over their admin APIs; pages and JSON in the bucket.
const reportHistory = new PgReportHistory(svc.pool());
const reports = createWeeklyReports({
  history: reportHistory, registry: new PgRegistry(svc.pool()), store: await svc.objectStore(), logger: svc.logger,
  experiments: config.ABROUTER_URL ? httpExperimentSource({ baseUrl: config.ABROUTER_URL, token: config.ADMIN_TOKEN }) : undefined,
  labels: config.FEEDBACK_URL ? httpLabelSource({ baseUrl: config.FEEDBACK_URL, token: config.ADMIN_TOKEN }) : undefined,
});
svc.consume('drift-monitor-reports', onReportEvents({ history: reportHistory }));
if (config.REPORT_CHECK_INTERVAL_MS > 0) svc.every('weekly-reports', config.REPORT_CHECK_INTERVAL_MS, () => reports.runWeekly());
svc.every('report-history-prune', 86_400_000, () => reportHistory.prune(new Date(Date.now() - config.REPORT_KEEP_DAYS * 86_400_000)));
svc.routes(reportRoutes({ reports, keyring }));
await svc.start();
relay.start();
