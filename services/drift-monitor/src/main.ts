import { createKafkaBus } from '@flywheel/bus';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { loadConfig } from './config.js';
import { startDriftMonitor } from './startDriftMonitor.js';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'drift-monitor', level: config.LOG_LEVEL });
const metrics = createMetricsRegistry('drift-monitor');
const shutdown = createShutdown(logger);
const redis = createRedis(config.REDIS_URL);
shutdown.onShutdown(() => redis.quit());
const bus = createKafkaBus({ brokers: config.KAFKA_BROKERS, clientId: 'drift-monitor', logger, metrics, dedupe: new RedisDedupe(redis), topicPrefix: config.TOPIC_PREFIX });
shutdown.onShutdown(() => bus.close());
const running = await startDriftMonitor({
  redis, bus, logger, metrics, port: config.PORT, adminToken: config.ADMIN_TOKEN, redisPrefix: config.REDIS_PREFIX,
  lockTtlMs: config.RETRAIN_LOCK_TTL_MS, cooldownMs: config.DRIFT_COOLDOWN_MS,
  settings: {
    referenceSize: config.REFERENCE_SIZE, windowSize: config.WINDOW_SIZE, windowMaxMs: config.WINDOW_MAX_MS, minWindow: config.MIN_WINDOW,
    buckets: config.HASH_BUCKETS, minLabelled: config.MIN_LABELLED,
    thresholds: { accuracyDrop: config.ACCURACY_DROP, psiWarn: config.PSI_WARN, psiSignificant: config.PSI_SIGNIFICANT },
  },
});
shutdown.onShutdown(() => running.close());
shutdown.installSignalHandlers();
logger.info({ port: running.port }, 'drift-monitor started');
