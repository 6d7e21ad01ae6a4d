/**
 * The outbox table: how it is created and how a row is written.
 *
 *   await migrateOutbox(pool);                         // or svc.migrate(outboxMigrationsDir, 'outbox_migrations')
 *   await withTransaction(pool, async (tx) => {
 *     await tx.query('UPDATE experiments SET state = $1 WHERE id = $2', ['promoted', id]);
 *     await enqueueInTx(tx, { topic: 'modelUpdates', event });   // commits or rolls back with the UPDATE
 *   });
 *   relay.nudge();                                     // publish now rather than at the next poll
 *
 * The table `flywheel_outbox` lives in the schema the pool's search_path names (like every other
 * service table); its history table is `outbox_migrations`, apart from the service's own.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import type { EventOf, TopicKey } from '@flywheel/contracts';
import { runMigrations, type MigrationResult } from '../migrate.js';

/** The outbox's table name, in the caller's schema. */
export const OUTBOX_TABLE = 'flywheel_outbox';

/** packages/postgres/migrations/outbox, from src/ (tests) or dist/ (built): same depth in both. */
export const outboxMigrationsDir = fileURLToPath(new URL('../../migrations/outbox', import.meta.url));

/** Creates or updates the outbox table; safe from every replica at start (advisory-locked, idempotent). */
export const migrateOutbox = (pool: pg.Pool, opts: { schema?: string } = {}): Promise<MigrationResult> =>
  runMigrations(pool, outboxMigrationsDir, { table: 'outbox_migrations', ...opts });

/** One event to publish. `key` is the Kafka key; default the envelope's subject (the model name). */
export interface OutboxEntry<K extends TopicKey> {
  topic: K;
  event: EventOf<K>;
  key?: string;
}

const insert = async <K extends TopicKey>(db: pg.Pool | pg.PoolClient, entry: OutboxEntry<K>): Promise<boolean> => {
  // The event is not parsed here: it is typed, and the bus validates it when the relay publishes
  // (a row it refuses is moved aside, see createOutboxRelay). One parse per event on the hot path.
  const r = await db.query(
    `INSERT INTO ${OUTBOX_TABLE} (event_id, topic, key, event) VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (event_id) DO NOTHING`,
    [entry.event.id, entry.topic, entry.key ?? entry.event.subject, JSON.stringify(entry.event)],
  );
  return r.rowCount === 1;
};

/**
 * Writes an outbox row on `tx`, inside the caller's open transaction, so the row commits or rolls
 * back with the state change it announces. Returns false when an event with this id is already in
 * the outbox (re-enqueuing a deterministic event id is a no-op, which makes reconcilers safe).
 */
export const enqueueInTx = <K extends TopicKey>(tx: pg.PoolClient, entry: OutboxEntry<K>): Promise<boolean> => insert(tx, entry);

/** Writes an outbox row on its own (autocommit); for events that announce no state change of this service. */
export const enqueue = <K extends TopicKey>(pool: pg.Pool, entry: OutboxEntry<K>): Promise<boolean> => insert(pool, entry);
