export { createRedis } from './createRedis.js';
export type { Redis } from './createRedis.js';
export { RedisDedupe, DEFAULT_DEDUPE_WINDOW_SECONDS } from './RedisDedupe.js';
export type { Dedupe } from './RedisDedupe.js';
export { routingKey } from './keys.js';
export { RedisLocks } from './RedisLocks.js';
export type { Locks, Lease } from './RedisLocks.js';
export { RetrainLeases, retrainLeaseKey } from './RetrainLeases.js';
export type { RetrainLease } from './RetrainLeases.js';
