import { trainerMigrationsDir } from './trainerMigrationsDir.js';
import { createKafkaBus } from '@flywheel/bus';
import { createHttpApp, listen } from '@flywheel/http';
import { initBackend } from '@flywheel/learning/train';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool, runMigrations } from '@flywheel/postgres';
import { createRedis, RedisDedupe, RedisLocks } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { inlineCandidateTrainer, workerCandidateTrainer } from './candidateTrainer.js';
import { loadConfig } from './config.js';
import { createTrainer } from './createTrainer.js';
import { PgJobStore } from './PgJobStore.js';
import { PgTrainingData } from './PgTrainingData.js';
import { createTrainerMetrics } from './trainerMetrics.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'trainer', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const registryMetrics = createMetricsRegistry('trainer');
const shutdown = createShutdown(logger);

// Only to log which backend training will use (tfjs-node-gpu on the GPU image); workers pick the same.
logger.info({ backend: await initBackend(), modelOptions: config.TRAINER_MODEL_OPTIONS }, 'tensorflow.js backend and per-model training options');
const pool = createPool(config.POSTGRES_URL, { applicationName: 'trainer' });
await runMigrations(pool, trainerMigrationsDir, { table: 'trainer_migrations' });
await migrateRegistry(pool);
const redis = createRedis(config.REDIS_URL);
const store = await MinioObjectStore.fromSettings({ endpoint: config.S3_ENDPOINT, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, bucket: config.S3_BUCKET, region: config.S3_REGION });
const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'trainer', logger, metrics: registryMetrics, dedupe: new RedisDedupe(redis), topicPrefix: config.TOPIC_PREFIX, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS });
const trainer = createTrainer({
  bus,
  jobs: new PgJobStore(pool, { models: config.TRAINER_MODELS }),
  registry: new PgRegistry(pool),
  artifacts: new MinioArtifactStore(store),
  data: new PgTrainingData(pool, config.FEEDBACK_PG_SCHEMA),
  train: config.TRAINING_ISOLATION === 'thread' ? workerCandidateTrainer(new URL('./trainWorker.js', import.meta.url)) : inlineCandidateTrainer(),
  locks: new RedisLocks(redis, config.REDIS_PREFIX),
  publisher: bus.publisher,
  logger,
  metrics: createTrainerMetrics(registryMetrics),
  staleAfterMs: config.JOB_STALE_AFTER_MS,
  orphanMinAgeMs: config.ORPHAN_MIN_AGE_MS,
  settings: {
    gates: { minAccuracy: config.GATE_MIN_ACCURACY, maxForgetting: config.GATE_MAX_FORGETTING, minImprovement: config.GATE_MIN_IMPROVEMENT },
    lockTtlMs: config.RETRAIN_LOCK_TTL_MS,
    keepAliveMs: Math.min(10_000, Math.floor(config.JOB_STALE_AFTER_MS / 3)),
    pseudoLabelMinConfidence: config.PSEUDO_LABEL_MIN_CONFIDENCE,
    pseudoLabelMaxRows: config.PSEUDO_LABEL_MAX_ROWS,
    oldMaxRows: config.OLD_DATA_MAX_ROWS,
    holdoutFraction: config.HOLDOUT_FRACTION,
    holdoutMaxRows: config.HOLDOUT_MAX_ROWS,
    trainOptions: {},
    modelOptions: config.TRAINER_MODEL_OPTIONS,
  },
});
const server = await listen(
  createHttpApp({
    service: 'trainer',
    logger,
    metrics: registryMetrics,
    readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }],
    routes: () => {},
  }),
  config.PORT,
);
await trainer.start();
shutdown.onShutdown(() => pool.end(), () => redis.quit(), () => bus.close(), () => trainer.stop(), () => server.close());
shutdown.installSignalHandlers();
logger.info({ port: server.port }, 'trainer running');
