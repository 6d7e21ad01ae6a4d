import { hostname } from 'node:os';
import { authMigrationsDir, createKeyring, createRateLimits } from '@flywheel/auth';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { BATCH_BODY_LIMIT_BYTES, EXPRESS_BODY_LIMIT } from './bodyLimits.js';
import { loadConfig } from './config.js';
import { createPredictor } from './createPredictor.js';
import { createFastPredictPath } from './fastPredictPath.js';
import { ModelHost } from './ModelHost.js';
import { modelsAtStart } from './modelsAtStart.js';
import { onModelUpdate } from './onModelUpdate.js';
import { onnxInferenceEngine } from './onnxInferenceEngine.js';
import { openApiRoute } from './openApiRoute.js';
import { PREDICTION_BATCH, PREDICTION_BATCHES_IN_FLIGHT, PredictionLog } from './PredictionLog.js';
import { createPredictHandlers } from './predictHandlers.js';
import { RedisRoutingStore } from './RedisRoutingStore.js';
import { RegistryModelSource } from './RegistryModelSource.js';
import { createServingMetrics } from './servingMetrics.js';
import { createServingFront } from './servingFront.js';
import { ShadowScorer } from './ShadowScorer.js';
import { modelsReadiness, servingRoutes } from './servingRoutes.js';
import { publishWorkerData, workerPredictionSink } from './workerPredictionSink.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'serving', config, bodyLimit: EXPRESS_BODY_LIMIT });
const { logger } = svc;
// Serving only reads the registry; its tables may not exist yet when serving starts first.
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
// Events are built, validated and published in a worker thread: none of it runs on the request loop.
const predictions = new PredictionLog({
  sink: workerPredictionSink({ data: publishWorkerData(config, `/flywheel/serving/${hostname()}`), logger }),
  metrics, logger, capacity: config.PREDICTION_BUFFER, flushAt: PREDICTION_BATCH, maxBatch: PREDICTION_BATCH, maxInFlight: PREDICTION_BATCHES_IN_FLIGHT,
});
svc.onStop(() => predictions.stop()); // registered after the host: the log drains before the models go
svc.every('prediction-log', config.PREDICTION_FLUSH_MS, () => predictions.flush());
// Registered after the log: at shutdown the shadow queue is finished before the log drains.
const shadow = new ShadowScorer({ recorder: predictions, metrics, logger, capacity: config.SHADOW_QUEUE_ROWS, timeoutMs: config.SHADOW_TIMEOUT_MS });
svc.onStop(() => shadow.stop());
const predict = createPredictor({ host, recorder: predictions, metrics, shadow });

const followAll = config.SERVING_FOLLOW_ALL ?? (config.SERVING_MODELS ?? []).length === 0;
const models = await modelsAtStart(source, { models: config.SERVING_MODELS ?? [], followAll });
host.expect(models); // known now: 503 and unready until loaded, not 404
// Every replica needs every update, so each has its own group; from now on, not the backlog.
svc.consume(config.SERVING_GROUP_ID ?? `serving-${hostname()}-${process.pid}`, { modelUpdates: onModelUpdate({ host, followAll }) }, { fromBeginning: false });
svc.ready(modelsReadiness(host));
svc.routes(servingRoutes({ predict, directory: host, metrics, keyring, limits }));
svc.routes(openApiRoute());
// Keys and declared lengths are checked before any body is read; then the fast path, then express.
const fast = config.SERVING_FAST_PATH ? createFastPredictPath(createPredictHandlers({ predict, directory: host, metrics }), { logger, limits }) : undefined;
svc.front(createServingFront({ keyring, fast, expressLimitBytes: BATCH_BODY_LIMIT_BYTES }));
await svc.start();

// Loaded after the consumer subscribed: an update published meanwhile is applied after the load,
// not lost. host.start never throws: a broken model answers 503 and is reloaded with backoff.
await Promise.all(models.map((m) => host.start(m)));
logger.info({ models: host.models() }, 'serving: models loaded');
