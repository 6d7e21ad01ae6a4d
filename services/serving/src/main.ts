import { hostname } from 'node:os';
import { createKafkaBus } from '@flywheel/bus';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool } from '@flywheel/postgres';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { loadConfig } from './config.js';
import { onnxInferenceEngine } from './onnxInferenceEngine.js';
import { RedisRoutingStore } from './RedisRoutingStore.js';
import { RegistryModelSource } from './RegistryModelSource.js';
import { startServing } from './startServing.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'serving', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const metrics = createMetricsRegistry('serving');
const shutdown = createShutdown(logger);
shutdown.installSignalHandlers();

const pool = createPool(config.POSTGRES_URL, { max: 4, applicationName: 'serving' });
shutdown.onShutdown(() => pool.end());
await migrateRegistry(pool);
const redis = createRedis(config.REDIS_URL, { name: 'serving' });
shutdown.onShutdown(() => redis.quit());
const store = await MinioObjectStore.fromSettings({
  endpoint: config.S3_ENDPOINT, accessKey: config.S3_ACCESS_KEY, secretKey: config.S3_SECRET_KEY, bucket: config.S3_BUCKET, region: config.S3_REGION,
});
const bus = createKafkaBus({
  brokers: config.KAFKA_BROKERS, clientId: 'serving', logger, metrics, dedupe: new RedisDedupe(redis), topicPrefix: config.KAFKA_TOPIC_PREFIX,
  sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
});
shutdown.onShutdown(() => bus.close());

const models = config.SERVING_MODELS ?? [];
const serving = await startServing({
  bus,
  source: new RegistryModelSource(new PgRegistry(pool), new MinioArtifactStore(store)),
  routing: new RedisRoutingStore(redis, logger, config.REDIS_KEY_PREFIX),
  engine: onnxInferenceEngine({ intraOpThreads: config.ONNX_INTRA_OP_THREADS }),
  logger,
  registry: metrics,
  models,
  followAll: config.SERVING_FOLLOW_ALL ?? models.length === 0,
  // Every replica needs every update, so each has its own group.
  groupId: config.SERVING_GROUP_ID ?? `serving-${hostname()}-${process.pid}`,
  port: config.PORT,
  host: config.HOST,
  releaseGraceMs: config.RELEASE_GRACE_MS,
  loadRetry: { baseMs: config.LOAD_RETRY_BASE_MS, capMs: config.LOAD_RETRY_MAX_MS },
  predictionBuffer: config.PREDICTION_BUFFER,
  predictionFlushMs: config.PREDICTION_FLUSH_MS,
  eventSource: `/flywheel/serving/${hostname()}`,
  fastPath: config.SERVING_FAST_PATH,
});
shutdown.onShutdown(() => serving.close());
