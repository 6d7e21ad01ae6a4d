// Test-only helpers for integration tests: a private PostgreSQL schema, topic prefix, Redis prefix and
// S3 bucket per test file, all removed by drop().
import { randomUUID } from 'node:crypto';
import { createKafkaBus } from '@flywheel/bus';
import type { MinioObjectStore, S3Settings } from '@flywheel/objectstore';
import { createPool, withSearchPath, type Pool } from '@flywheel/postgres';
import { createRedis, RedisDedupe, type Redis } from '@flywheel/redis';
import { createLogger, createMetricsRegistry, type Logger } from '@flywheel/runtime';
import { env } from './env.js';
import { isolatedBucket } from './isolatedBucket.js';
import { removeRedisKeys } from './removeRedisKeys.js';

const withTimeout = <T>(what: string, p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms).unref())]);

/**
 * A fresh schema (the pool's search_path, so migrations and queries land there), topic prefix,
 * Redis prefix and bucket for one test file. Call `drop()` in afterAll even when the test failed
 * half-way: it removes all of them, tries every step, and throws naming whatever it left behind.
 */
export const isolatedPlatform = async (name: string) => {
  const run = randomUUID().slice(0, 8);
  const schema = `${name.replace(/[^a-zA-Z0-9]+/g, '_').toLowerCase()}_${run}`;
  // The pool's sessions carry this name, so drop() can end any a failed test left open.
  const applicationName = `flywheel-test-${run}`;
  const [postgresUrl, redisUrl, brokers] = [env('POSTGRES_URL'), env('REDIS_URL'), env('KAFKA_BROKERS').split(',')]; // before anything exists
  const admin = createPool(postgresUrl, { max: 1, applicationName: `${applicationName}-admin` });
  try {
    await admin.query(`CREATE SCHEMA "${schema}"`);
  } catch (err) {
    await admin.end();
    throw err;
  }
  const pool: Pool = createPool(withSearchPath(postgresUrl, schema), { max: 10, applicationName });
  const redis: Redis = createRedis(redisUrl);
  const logger: Logger = createLogger({ service: name, level: process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'silent' });
  const redisPrefix = `t-${name}-${run}`;
  const topicPrefix = `${name}-${run}-`;
  const objects = isolatedBucket(name, run);
  const newBus = (opts: { brokers?: string[] } = {}) =>
    createKafkaBus({
      brokers: opts.brokers ?? brokers,
      clientId: `${name}-${run}`,
      logger,
      metrics: createMetricsRegistry(name),
      dedupe: new RedisDedupe(redis, { prefix: redisPrefix, ttlSeconds: 600 }),
      topicPrefix,
    });

  const dropSchema = async (): Promise<void> => {
    await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    await admin.query(`SET lock_timeout = '20s'`);
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    const left = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (left.rowCount !== 0) throw new Error(`schema ${schema} still exists after DROP SCHEMA`);
  };
  let dropped: Promise<void> | undefined;
  const drop = async (): Promise<void> => {
    const failures: string[] = [];
    const step = async (what: string, undo: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        failures.push(`${what}: ${err instanceof Error ? err.message : String(err)}${undo ? ` — remove by hand: ${undo}` : ''}`);
      }
    };
    // A test that failed may still hold clients: give the pool a while; dropSchema then ends the
    // sessions still open (a stuck pool is no leftover once its sessions are gone).
    await withTimeout('pool.end()', pool.end(), 5_000).catch((err: unknown) => logger.warn({ err }, 'test pool did not close; ending its sessions'));
    await step(`drop schema ${schema}`, `psql "$POSTGRES_URL" -c 'DROP SCHEMA "${schema}" CASCADE'`, dropSchema);
    await step(`remove Redis keys ${redisPrefix}*`, `redis-cli --scan --pattern '${redisPrefix}*' | xargs -r redis-cli del`, () => removeRedisKeys(redis, `${redisPrefix}*`));
    await step(`remove bucket ${objects.bucket}`, `empty and delete bucket ${objects.bucket} on $S3_ENDPOINT`, () => objects.drop());
    await step('quit Redis', '', () => redis.quit());
    await step('close the admin pool', '', () => admin.end());
    // Topics stay: the local mock broker cannot delete them (kafkajs deleteTopics finds no controller
    // there) and keeps them in memory only; the prefix keeps them apart from every other run.
    if (failures.length > 0) throw new Error(`isolatedPlatform(${name}) left things behind:\n  ${failures.join('\n  ')}`);
  };

  return {
    run, schema, pool, redis, logger, redisPrefix, topicPrefix, brokers, newBus,
    /** This file's bucket name (created by objectStore() or by code given s3). */
    bucket: objects.bucket,
    /** S3 settings naming this file's bucket, for code that builds its own store. */
    get s3(): S3Settings {
      return objects.settings;
    },
    /** A store on this file's bucket, created on the first call. */
    objectStore: (): Promise<MinioObjectStore> => objects.store(),
    /** Removes the schema, Redis keys and bucket; safe to call twice and after a half-way failure. */
    drop: (): Promise<void> => (dropped ??= drop()),
  };
};

/** What isolatedPlatform() resolves to. */
export type IsolatedPlatform = Awaited<ReturnType<typeof isolatedPlatform>>;

/** Polls `cond` until it holds; the error names what was awaited. */
export const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
