import { runRetention, type Pool, type RetentionPolicy } from '@flywheel/postgres';
import type { Counter } from 'prom-client';

const DAY = 86_400_000;

/**
 * What the aggregator's ledger forgets, and when.
 * - aggregator_feedback: a row counts while pending; once a trigger took it (trigger_token set) it
 *   is only the duplicate check for a redelivery of its event, which comes within hours (the
 *   dedupe window), so after LEDGER_KEEP_DAYS it goes. Pending rows are never deleted.
 * - aggregator_triggers: the record of fired, suppressed and external triggers, read by no rule;
 *   kept TRIGGERS_KEEP_DAYS for inspection.
 */
export const ledgerRetention = (c: { LEDGER_KEEP_DAYS: number; TRIGGERS_KEEP_DAYS: number }): RetentionPolicy[] => [
  { table: 'aggregator_feedback', column: 'received_at', keepMs: c.LEDGER_KEEP_DAYS * DAY, where: 'trigger_token IS NOT NULL' },
  // A few rows a day: found without an index.
  { table: 'aggregator_triggers', column: 'created_at', keepMs: c.TRIGGERS_KEEP_DAYS * DAY },
];

/** The scheduled job: the policies above, deleted rows counted per table. */
export const retainLedger = (pool: Pool, c: { LEDGER_KEEP_DAYS: number; TRIGGERS_KEEP_DAYS: number }, deleted: Counter<'table'>) => (): Promise<Record<string, number>> =>
  runRetention(pool, ledgerRetention(c), { onDeleted: (table, n) => deleted.inc({ table }, n) });
