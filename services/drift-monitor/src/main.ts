import { createKafkaBus } from '@flywheel/bus';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool } from '@flywheel/postgres';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { loadConfig } from './config.js';
import { startDriftMonitor } from './startDriftMonitor.js';
import { RegistryTrainingSnapshots } from './TrainingSnapshots.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'drift-monitor', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const metrics = createMetricsRegistry('drift-monitor');
const shutdown = createShutdown(logger);
const pool = createPool(config.POSTGRES_URL, { max: 2, applicationName: 'drift-monitor' });
shutdown.onShutdown(() => pool.end());
await migrateRegistry(pool);
const store = await MinioObjectStore.fromSettings({
  endpoint: config.S3_ENDPOINT, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, bucket: config.S3_BUCKET, region: config.S3_REGION,
});
const snapshots = new RegistryTrainingSnapshots(new PgRegistry(pool), new MinioArtifactStore(store));
const redis = createRedis(config.REDIS_URL);
shutdown.onShutdown(() => redis.quit());
const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'drift-monitor', logger, metrics, dedupe: new RedisDedupe(redis), topicPrefix: config.TOPIC_PREFIX, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS });
shutdown.onShutdown(() => bus.close());
const running = await startDriftMonitor({
  redis, bus, logger, metrics, snapshots, port: config.PORT, adminToken: config.ADMIN_TOKEN, redisPrefix: config.REDIS_PREFIX,
  lockTtlMs: config.RETRAIN_LOCK_TTL_MS, cooldownMs: config.DRIFT_COOLDOWN_MS,
  settings: {
    referenceSize: config.REFERENCE_SIZE, windowSize: config.WINDOW_SIZE, windowMaxMs: config.WINDOW_MAX_MS, minWindow: config.MIN_WINDOW,
    buckets: config.HASH_BUCKETS, maxSnapshotRows: config.MAX_SNAPSHOT_ROWS, ignoreSubjectPrefixes: config.IGNORE_SUBJECT_PREFIXES, minLabelled: config.MIN_LABELLED,
    thresholds: { accuracyDrop: config.ACCURACY_DROP, psiWarn: config.PSI_WARN, psiSignificant: config.PSI_SIGNIFICANT },
    snapshotThresholds: { ksStatistic: config.SNAPSHOT_KS },
  },
});
shutdown.onShutdown(() => running.close());
shutdown.installSignalHandlers();
logger.info({ port: running.port }, 'drift-monitor started');
