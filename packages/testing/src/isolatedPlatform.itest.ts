import { afterAll, describe, expect, it } from 'vitest';
import { createPool, type PoolClient } from '@flywheel/postgres';
import { createRedis } from '@flywheel/redis';
import { env, s3Server } from './env.js';
import { findLeftovers } from './findLeftovers.js';
import { s3Client } from './isolatedBucket.js';
import { isolatedPlatform } from './isolatedPlatform.js';
import { scanKeys } from './removeRedisKeys.js';

const admin = createPool(env('POSTGRES_URL'), { max: 1 });
const redis = createRedis(env('REDIS_URL'));
const s3 = s3Client(s3Server());
afterAll(async () => {
  await admin.end();
  await redis.quit();
});

describe('isolatedPlatform', () => {
  it('puts everything a test makes in its own schema, Redis prefix and bucket, and drop() removes them even after a failure half-way', async () => {
    const p = await isolatedPlatform('isolation-check');
    let stuck: PoolClient | undefined;
    try {
      await p.pool.query('CREATE TABLE registry_models (model text PRIMARY KEY)');
      await p.pool.query(`INSERT INTO registry_models VALUES ('t-model')`);
      await p.redis.set(`${p.redisPrefix}:lock:t-model`, '1');
      const store = await p.objectStore();
      await store.put('models/t-model/1.0.0/manifest.json', '{}');
      await store.put('models/t-model/base/b0/base.onnx', 'onnx');
      expect((await admin.query(`SELECT count(*)::int AS n FROM "${p.schema}".registry_models`)).rows[0].n).toBe(1);
      expect((await admin.query(`SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'registry_models'`)).rowCount === 0
        || (await admin.query(`SELECT 1 FROM public.registry_models WHERE model = 't-model'`)).rowCount === 0).toBe(true);
      // A test that dies mid-transaction: a checked-out client holding a lock on the table.
      stuck = await p.pool.connect();
      await stuck.query('BEGIN');
      await stuck.query('LOCK TABLE registry_models IN ACCESS EXCLUSIVE MODE');

      const before = await findLeftovers({ pool: admin, s3, sharedBucket: env('S3_BUCKET'), redis });
      expect(before.schemas).toContain(p.schema);
      expect(before.buckets).toContain(p.bucket);
      expect(before.sharedObjects.map((o) => o.prefix)).not.toContain('models/t-model/');
      expect(before.redisKeys.map((k) => k.prefix)).toContain(p.redisPrefix);
    } finally {
      stuck?.on('error', () => {}); // drop() ends the session under it
      await p.drop();
    }

    expect((await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [p.schema])).rowCount).toBe(0);
    expect(await scanKeys(redis, `${p.redisPrefix}*`)).toEqual([]);
    expect(await s3.bucketExists(p.bucket)).toBe(false);
    const after = await findLeftovers({ pool: admin, s3, sharedBucket: env('S3_BUCKET'), redis });
    expect(after.schemas).not.toContain(p.schema);
    expect(after.buckets).not.toContain(p.bucket);
    await expect(p.drop()).resolves.toBeUndefined(); // a second drop (afterAll after a finally) is harmless
  }, 60_000);

  it('leaves S3 alone for a test that never used it', async () => {
    const p = await isolatedPlatform('isolation-no-s3');
    await p.drop();
    expect(await s3.bucketExists(p.bucket)).toBe(false);
  });
});
