export { createPool, withTransaction, withSearchPath } from './createPool.js';
export type { Pool, PoolClient, PoolOptions } from './createPool.js';
export { runMigrations } from './migrate.js';
export type { MigrationResult } from './migrate.js';
export { OUTBOX_TABLE, outboxMigrationsDir, migrateOutbox, enqueueInTx, enqueue } from './outbox/outboxTable.js';
export type { OutboxEntry } from './outbox/outboxTable.js';
export { createOutboxRelay } from './outbox/createOutboxRelay.js';
export type { OutboxRelay, OutboxRelayOptions, OutboxPublisher } from './outbox/createOutboxRelay.js';
