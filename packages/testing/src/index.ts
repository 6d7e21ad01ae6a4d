export { env, s3Server } from './env.js';
export { isolatedPlatform, until } from './isolatedPlatform.js';
export type { IsolatedPlatform } from './isolatedPlatform.js';
export { bucketName, isolatedBucket, listKeys, removeBucket, removeKeys, s3Client } from './isolatedBucket.js';
export { removeRedisKeys, scanKeys } from './removeRedisKeys.js';
export { cleanUpAll } from './cleanUpAll.js';
export type { CleanUpStep } from './cleanUpAll.js';
export { describeLeftovers, findLeftovers, OPERATOR_SCHEMAS, TEST_REDIS_PATTERNS } from './findLeftovers.js';
export type { Leftovers } from './findLeftovers.js';
