import type pg from 'pg';
import { deleteInBatches, type DeleteInBatchesOptions } from './deleteInBatches.js';

/** One table's retention: rows whose `column` is older than `keepMs` (and meet `where`) go. */
export interface RetentionPolicy extends Omit<DeleteInBatchesOptions, 'cutoff'> {
  keepMs: number;
}

/**
 * Runs each policy in turn (deleteInBatches) and reports every table's count to `onDeleted`, also
 * when a later table fails, so the metric is right; the first error is rethrown after the others ran.
 */
export const runRetention = async (
  pool: pg.Pool,
  policies: readonly RetentionPolicy[],
  opts: { now?: () => number; onDeleted?: (table: string, rows: number) => void } = {},
): Promise<Record<string, number>> => {
  const now = (opts.now ?? Date.now)();
  const deleted: Record<string, number> = {};
  let failure: unknown;
  for (const { keepMs, ...p } of policies) {
    try {
      const n = await deleteInBatches(pool, { ...p, cutoff: new Date(now - keepMs) });
      deleted[p.table] = (deleted[p.table] ?? 0) + n;
      opts.onDeleted?.(p.table, n);
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure !== undefined) throw failure;
  return deleted;
};
