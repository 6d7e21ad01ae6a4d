// Test-only helpers for integration tests: an isolated PostgreSQL schema, topic prefix and Redis prefix per test file.
import { randomUUID } from 'node:crypto';
import { createKafkaBus } from '@flywheel/bus';
import { createPool, withSearchPath, type Pool } from '@flywheel/postgres';
import { createRedis, RedisDedupe, type Redis } from '@flywheel/redis';
import { createLogger, createMetricsRegistry, type Logger } from '@flywheel/runtime';

/** A required environment variable of the local platform, with the command that sets it. */
export const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`bash scripts/platform.sh up\` and \`set -a; . .flywheel/platform.env; set +a\``);
  return v;
};

/** A fresh schema, topic prefix and Redis prefix; `drop()` removes the schema and the Redis keys. */
export const isolatedPlatform = async (name: string) => {
  const run = randomUUID().slice(0, 8);
  const schema = `${name.replace(/-/g, '_')}_${run}`;
  const admin = createPool(env('POSTGRES_URL'), { max: 1 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  const pool: Pool = createPool(withSearchPath(env('POSTGRES_URL'), schema), { max: 10 });
  const redis: Redis = createRedis(env('REDIS_URL'));
  const logger: Logger = createLogger({ service: name, level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
  const redisPrefix = `t-${name}-${run}`;
  const topicPrefix = `${name}-${run}-`;
  const brokers = env('KAFKA_BROKERS').split(',');
  const newBus = (opts: { brokers?: string[] } = {}) =>
    createKafkaBus({
      brokers: opts.brokers ?? brokers,
      clientId: `${name}-${run}`,
      logger,
      metrics: createMetricsRegistry(name),
      dedupe: new RedisDedupe(redis, { prefix: redisPrefix, ttlSeconds: 600 }),
      topicPrefix,
    });
  return {
    run, schema, pool, redis, logger, redisPrefix, topicPrefix, brokers, newBus,
    async drop() {
      await pool.end();
      await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
      await admin.end();
      const keys = await redis.keys(`${redisPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
};

/** Polls `cond` until it holds; the error names what was awaited. */
export const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
