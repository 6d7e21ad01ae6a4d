// Serving composed in this process the way src/main.ts composes it, for the integration tests and
// the benches: the same skeleton, stores, handlers, schedule and routes, on a config the caller
// builds (isolated schema, prefixes and bucket), without signal handlers. Keep it in step with main.ts.
import { hostname } from 'node:os';
import { authMigrationsDir, createKeyring, createRateLimits, type Keyring } from '@flywheel/auth';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService, type Service } from '@flywheel/service';
import { BATCH_BODY_LIMIT_BYTES, EXPRESS_BODY_LIMIT } from '../bodyLimits.js';
import { loadConfig, type ServingConfig } from '../config.js';
import { createPredictor } from '../createPredictor.js';
import { createFastPredictPath } from '../fastPredictPath.js';
import { ModelHost } from '../ModelHost.js';
import { modelsAtStart } from '../modelsAtStart.js';
import { onModelUpdate } from '../onModelUpdate.js';
import { onnxInferenceEngine } from '../onnxInferenceEngine.js';
import { PREDICTION_BATCH, PREDICTION_BATCHES_IN_FLIGHT, PredictionLog, publisherSink, type PredictionPublisher } from '../PredictionLog.js';
import { createPredictHandlers } from '../predictHandlers.js';
import { RedisRoutingStore } from '../RedisRoutingStore.js';
import { RegistryModelSource } from '../RegistryModelSource.js';
import { createServingMetrics, type ServingMetrics } from '../servingMetrics.js';
import { createServingFront } from '../servingFront.js';
import { ShadowScorer } from '../ShadowScorer.js';
import { modelsReadiness, servingRoutes } from '../servingRoutes.js';
import { publishWorkerData, workerPredictionSink } from '../workerPredictionSink.js';

/** ADMIN_TOKEN of serving started with servingEnv: the built-in `admin` client (every scope). */
export const TEST_ADMIN_TOKEN = 'serving-test-admin-token';
/** Headers of a JSON request as the admin client. */
export const adminHeaders = { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_TOKEN}` } as const;

/** The S3 settings and isolation of an isolatedPlatform (or a bench run) as serving's environment. */
export const servingEnv = (o: {
  schema: string; redisPrefix: string; topicPrefix: string;
  s3: { endpoint: string; accessKey: string; secretKey: string; bucket: string; region?: string };
  env: Readonly<Record<string, string | undefined>>;
}): Record<string, string | undefined> => ({
  KAFKA_BROKERS: o.env.KAFKA_BROKERS, POSTGRES_URL: o.env.POSTGRES_URL, REDIS_URL: o.env.REDIS_URL, LOG_LEVEL: o.env.TEST_LOG_LEVEL ?? 'silent', PORT: '0',
  PG_SCHEMA: o.schema, REDIS_PREFIX: o.redisPrefix, TOPIC_PREFIX: o.topicPrefix,
  S3_ENDPOINT: o.s3.endpoint, S3_ACCESS_KEY: o.s3.accessKey, S3_SECRET_KEY: o.s3.secretKey, S3_BUCKET: o.s3.bucket, S3_REGION: o.s3.region ?? 'us-east-1',
  ADMIN_TOKEN: TEST_ADMIN_TOKEN, KEY_REFRESH_MS: '500',
});

export interface InProcessServing {
  svc: Service;
  config: ServingConfig;
  port: number;
  host: ModelHost;
  predictions: PredictionLog;
  metrics: ServingMetrics;
  keyring: Keyring;
  /** svc.stop(): HTTP, the flush schedule, the consumer, the log's drain, the models, the stores. */
  close(): Promise<void>;
}

/** Starts serving in-process and resolves once every model at start loaded or failed (as main.ts does). */
/** `publisher`: publish in this thread through it instead of the worker thread main.ts uses. */
export const startInProcessServing = async (env: Record<string, string | undefined>, o: { publisher?: PredictionPublisher } = {}): Promise<InProcessServing> => {
  const config = loadConfig(env);
  const svc = createService({ name: 'serving', config, bodyLimit: EXPRESS_BODY_LIMIT, handleSignals: false });
  const { logger } = svc;
  await svc.migrate(registryMigrationsDir, 'registry_migrations');
  await svc.migrate(authMigrationsDir, 'auth_migrations');
  const keyring = await createKeyring({ pool: svc.pool(), refreshMs: config.KEY_REFRESH_MS, adminToken: config.ADMIN_TOKEN, logger });
  svc.onStop(async () => keyring.close());
  svc.ready({ name: 'keyring', check: () => keyring.fresh() });
  const limits = createRateLimits({ redis: svc.redis(), keyPrefix: `${config.REDIS_PREFIX}:rl:serving`, limits: { predict: { points: config.PREDICT_RATE_LIMIT_PER_MINUTE, durationSec: 60 } } });
  const metrics = createServingMetrics(svc.metrics);
  const source = new RegistryModelSource(new PgRegistry(svc.pool()), new MinioArtifactStore(await svc.objectStore()));
  const host = new ModelHost({
    source, metrics, logger,
    engine: onnxInferenceEngine({
    intraOpThreads: config.ONNX_INTRA_OP_THREADS, executionProviders: config.ONNX_EXECUTION_PROVIDERS,
    microBatch: { maxWaitMs: config.MICRO_BATCH_MAX_WAIT_MS, maxItems: config.MICRO_BATCH_MAX_ITEMS, observe: (rows) => metrics.encoderBatchRows.observe(rows) },
    warn: (message, err) => logger.warn({ err }, message),
  }),
    routing: new RedisRoutingStore(svc.redis(), logger, config.REDIS_PREFIX),
    releaseGraceMs: config.RELEASE_GRACE_MS,
    loadRetry: { baseMs: config.LOAD_RETRY_BASE_MS, capMs: config.LOAD_RETRY_MAX_MS },
  });
  svc.onStop(() => host.close());
  const eventSource = `/flywheel/serving/${hostname()}`;
  const sink = o.publisher !== undefined ? publisherSink(o.publisher, eventSource) : workerPredictionSink({ data: publishWorkerData(config, eventSource), logger });
  const predictions = new PredictionLog({ sink, metrics, logger, capacity: config.PREDICTION_BUFFER, flushAt: PREDICTION_BATCH, maxBatch: PREDICTION_BATCH, maxInFlight: PREDICTION_BATCHES_IN_FLIGHT });
  svc.onStop(() => predictions.stop());
  svc.every('prediction-log', config.PREDICTION_FLUSH_MS, () => predictions.flush());
  const shadow = new ShadowScorer({ recorder: predictions, metrics, logger, capacity: config.SHADOW_QUEUE_ROWS, timeoutMs: config.SHADOW_TIMEOUT_MS });
  svc.onStop(() => shadow.stop());
  const predict = createPredictor({ host, recorder: predictions, metrics, shadow });
  const followAll = config.SERVING_FOLLOW_ALL ?? (config.SERVING_MODELS ?? []).length === 0;
  const models = await modelsAtStart(source, { models: config.SERVING_MODELS ?? [], followAll });
  host.expect(models);
  svc.consume(config.SERVING_GROUP_ID ?? `serving-${hostname()}-${process.pid}`, { modelUpdates: onModelUpdate({ host, followAll }) }, { fromBeginning: false });
  svc.ready(modelsReadiness(host));
  svc.routes(servingRoutes({ predict, directory: host, metrics, keyring, limits }));
  // Keys and declared lengths are checked before any body is read; then the fast path, then express.
  const fast = config.SERVING_FAST_PATH ? createFastPredictPath(createPredictHandlers({ predict, directory: host, metrics }), { logger, limits }) : undefined;
  svc.front(createServingFront({ keyring, fast, expressLimitBytes: BATCH_BODY_LIMIT_BYTES }));
  const { port } = await svc.start();
  await Promise.all(models.map((m) => host.start(m)));
  return { svc, config, port, host, predictions, metrics, keyring, close: () => svc.stop() };
};
