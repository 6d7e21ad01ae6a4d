// After a test run: fails (exit 1) when the shared platform shows anything a test left behind.
//   node packages/testing/dist/checkClean.js [--public-only]
// --public-only checks just the operator's data (public schema rows, shared bucket objects); use it
// while other test runs may be live, since their private schemas, buckets and keys are legitimately there.
import { createPool } from '@flywheel/postgres';
import { createRedis } from '@flywheel/redis';
import { env, s3Server } from './env.js';
import { describeLeftovers, findLeftovers } from './findLeftovers.js';
import { s3Client } from './isolatedBucket.js';

const publicOnly = process.argv.includes('--public-only');
const sharedBucket = env('S3_BUCKET');
const pool = createPool(env('POSTGRES_URL'), { max: 1, applicationName: 'flywheel-check-clean' });
const redis = createRedis(env('REDIS_URL'));
try {
  const found = await findLeftovers({ pool, s3: s3Client(s3Server()), sharedBucket, redis });
  const l = publicOnly ? { ...found, schemas: [], buckets: [], redisKeys: [] } : found;
  const report = describeLeftovers(l, sharedBucket);
  if (report.length > 0) {
    console.error(`check-clean: the test run left data on the shared platform:\n${report.join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`check-clean: clean: no rows in public, no test objects in shared bucket ${sharedBucket}${publicOnly ? '' : ', no test schemas, buckets or Redis keys left'}`);
  }
} catch (err) {
  console.error(`check-clean: could not inspect the platform (is it up? bash scripts/platform.sh up): ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
} finally {
  await pool.end();
  await redis.quit();
}
