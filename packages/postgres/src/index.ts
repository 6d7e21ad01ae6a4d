export { createPool, withTransaction, withSearchPath } from './createPool.js';
export type { Pool, PoolClient } from './createPool.js';
export { runMigrations } from './migrate.js';
export type { MigrationResult } from './migrate.js';
