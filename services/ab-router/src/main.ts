import { createKafkaBus } from '@flywheel/bus';
import { createPool } from '@flywheel/postgres';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { migrateRegistry, PgRegistry } from '@flywheel/registry';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { defaultSettings, loadConfig } from './config.js';
import { PgRegistryPort } from './PgRegistryPort.js';
import { ServingHealthProbe } from './ServingHealthProbe.js';
import { startAbRouter } from './startAbRouter.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'ab-router', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const metrics = createMetricsRegistry('ab-router');
const shutdown = createShutdown(logger);
const pool = createPool(config.POSTGRES_URL, { applicationName: 'ab-router' });
shutdown.onShutdown(() => pool.end());
await migrateRegistry(pool);
const redis = createRedis(config.REDIS_URL);
shutdown.onShutdown(() => redis.quit());
const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'ab-router', logger, metrics, dedupe: new RedisDedupe(redis), topicPrefix: config.TOPIC_PREFIX, sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS });
shutdown.onShutdown(() => bus.close());
const running = await startAbRouter({
  pool, redis, bus, logger, metrics,
  registry: new PgRegistryPort(new PgRegistry(pool)),
  adminToken: config.ADMIN_TOKEN,
  port: config.PORT,
  redisPrefix: config.REDIS_PREFIX,
  evalIntervalMs: config.EVAL_INTERVAL_MS,
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
shutdown.onShutdown(() => running.close());
shutdown.installSignalHandlers();
logger.info({ port: running.port, evalIntervalMs: config.EVAL_INTERVAL_MS }, 'ab-router started');
