import { createKafkaBus } from '@flywheel/bus';
import { createHttpApp, listen } from '@flywheel/http';
import { createPool, withSearchPath } from '@flywheel/postgres';
import { createRedis, RedisDedupe, RedisLocks } from '@flywheel/redis';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { loadConfig } from './config.js';
import { createAggregator } from './createAggregator.js';
import { RedisCounters } from './redisCounters.js';
import { createRuleBook } from '@flywheel/contracts';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'aggregator', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const metrics = createMetricsRegistry('aggregator');
const shutdown = createShutdown(logger);
const rulesFor = createRuleBook(config);

const pool = createPool(withSearchPath(config.POSTGRES_URL, config.PG_SCHEMA), { max: config.PG_POOL_SIZE, applicationName: 'aggregator' });
shutdown.onShutdown(() => pool.end());
const redis = createRedis(config.REDIS_URL, { name: 'aggregator' });
shutdown.onShutdown(() => redis.quit());
const bus = createKafkaBus({
  brokers: config.KAFKA_BROKERS,
  clientId: 'aggregator',
  logger,
  metrics,
  dedupe: new RedisDedupe(redis, { prefix: config.REDIS_PREFIX }),
  topicPrefix: config.TOPIC_PREFIX,
  sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
});
shutdown.onShutdown(() => bus.close());

const aggregator = createAggregator({
  pool,
  schema: config.PG_SCHEMA,
  bus,
  locks: new RedisLocks(redis, config.REDIS_PREFIX),
  counters: new RedisCounters(redis, config.REDIS_PREFIX),
  logger,
  metrics,
  rulesFor,
  lockTtlMs: config.RETRAIN_LOCK_TTL_MS,
  sweepIntervalMs: config.SWEEP_INTERVAL_MS,
  scheduleIntervalMs: config.SCHEDULE_INTERVAL_MS,
});
const server = await listen(
  createHttpApp({ service: 'aggregator', logger, metrics, readiness: [{ name: 'postgres', check: async () => (await pool.query('SELECT 1')).rowCount === 1 }, { name: 'redis', check: async () => (await redis.ping()) === 'PONG' }], routes: () => {} }),
  config.PORT,
);
shutdown.onShutdown(() => server.close());
await aggregator.start();
shutdown.onShutdown(() => aggregator.stop());
shutdown.installSignalHandlers();
logger.info({ port: server.port, schema: config.PG_SCHEMA, topicPrefix: config.TOPIC_PREFIX }, 'aggregator running');
