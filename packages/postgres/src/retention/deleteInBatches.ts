import type pg from 'pg';
import { sleep } from '@flywheel/runtime';

/** What to delete: rows of `table` whose `column` is older than `cutoff`, and that meet `where`. */
export interface DeleteInBatchesOptions {
  table: string;
  /** A timestamptz column, indexed (each batch finds its rows through it). */
  column: string;
  cutoff: Date;
  /** More conditions, as SQL written in code (never user input), e.g. `status IN ('succeeded','failed')`; parameters from $3 on. */
  where?: string;
  params?: readonly unknown[];
  /** Rows per statement (default 1000): small enough that each delete holds its row locks briefly. */
  batchSize?: number;
  /** Pause between batches (default 50 ms): lets writers and autovacuum in between. */
  pauseMs?: number;
  /** Stop after this many rows in one call (default: none); the next run continues. */
  maxRows?: number;
}

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;
const ident = (s: string): string => {
  if (!IDENT.test(s)) throw new Error(`deleteInBatches: ${JSON.stringify(s)} is not a lower-case SQL identifier`);
  return `"${s}"`;
};

/**
 * Deletes old rows a batch at a time and returns how many went. Each batch is its own short
 * statement (autocommit): it picks at most `batchSize` rows by their physical address, skipping rows
 * another transaction holds, and deletes exactly those, so a retention run never holds a long
 * lock on a hot table nor blocks (or waits on) the writers.
 */
export const deleteInBatches = async (pool: pg.Pool, o: DeleteInBatchesOptions): Promise<number> => {
  const table = ident(o.table);
  const batchSize = o.batchSize ?? 1000;
  const pauseMs = o.pauseMs ?? 50;
  const extra = o.where ? ` AND (${o.where})` : '';
  const sql =
    `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(` +
    `SELECT ctid FROM ${table} WHERE ${ident(o.column)} < $1${extra} LIMIT $2 FOR UPDATE SKIP LOCKED))`;
  let total = 0;
  for (;;) {
    const limit = o.maxRows === undefined ? batchSize : Math.min(batchSize, o.maxRows - total);
    if (limit <= 0) return total;
    const res = await pool.query(sql, [o.cutoff, limit, ...(o.params ?? [])]);
    const n = res.rowCount ?? 0;
    total += n;
    if (n < limit) return total;
    if (pauseMs > 0) await sleep(pauseMs);
  }
};
