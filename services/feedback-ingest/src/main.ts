import { createKafkaBus } from '@flywheel/bus';
import { listen } from '@flywheel/http';
import { createPool, withSearchPath } from '@flywheel/postgres';
import { createRedis, RedisDedupe, RedisLocks } from '@flywheel/redis';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown } from '@flywheel/runtime';
import { loadConfig } from './config.js';
import { createIngestService } from './createIngestService.js';
import { createRuleBook } from '@flywheel/contracts';

const config = loadConfig(process.env);
const logger = createLogger({ service: 'feedback-ingest', level: config.LOG_LEVEL });
const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
const metrics = createMetricsRegistry('feedback-ingest');
const shutdown = createShutdown(logger);
const rulesFor = createRuleBook(config);

const pool = createPool(withSearchPath(config.POSTGRES_URL, config.PG_SCHEMA), { max: config.PG_POOL_SIZE, applicationName: 'feedback-ingest' });
shutdown.onShutdown(() => pool.end());
const redis = createRedis(config.REDIS_URL, { name: 'feedback-ingest' });
shutdown.onShutdown(() => redis.quit());
const bus = createKafkaBus({
  brokers: config.KAFKA_BROKERS,
  clientId: 'feedback-ingest',
  logger,
  metrics,
  dedupe: new RedisDedupe(redis, { prefix: config.REDIS_PREFIX }),
  topicPrefix: config.TOPIC_PREFIX,
  sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
  rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS,
});
shutdown.onShutdown(() => bus.close());

const service = createIngestService({
  pool,
  schema: config.PG_SCHEMA,
  bus,
  locks: new RedisLocks(redis, config.REDIS_PREFIX),
  logger,
  metrics,
  rulesFor,
  adminToken: config.ADMIN_TOKEN,
  apiKey: config.API_KEY,
  knownModels: config.KNOWN_MODELS,
  bodyLimit: config.BODY_LIMIT,
  lockTtlMs: config.RETRAIN_LOCK_TTL_MS,
  relayBatchSize: config.RELAY_BATCH_SIZE,
  relayIdlePollMs: config.RELAY_IDLE_POLL_MS,
});
await service.start();
shutdown.onShutdown(() => service.stop());
const server = await listen(service.app, config.PORT);
shutdown.onShutdown(() => server.close());
shutdown.installSignalHandlers();
logger.info({ port: server.port, schema: config.PG_SCHEMA, topicPrefix: config.TOPIC_PREFIX }, 'feedback-ingest listening');
