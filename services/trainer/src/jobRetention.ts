import { runRetention, type Pool, type RetentionPolicy } from '@flywheel/postgres';
import type { Counter } from 'prom-client';

/**
 * Finished training jobs older than TRAINING_JOBS_KEEP_DAYS go; queued and running ones never do.
 * The newest job of each model is kept whatever its age: a trigger is refused as stale against
 * the highest fencing token the model's jobs hold (PgJobStore), so that row must outlive the rest.
 * The table gains a row per retraining (a few a day), so finding old rows needs no index.
 */
export const jobRetention = (c: { TRAINING_JOBS_KEEP_DAYS: number }): RetentionPolicy[] => [
  {
    table: 'training_jobs', column: 'finished_at', keepMs: c.TRAINING_JOBS_KEEP_DAYS * 86_400_000,
    where: `state IN ('succeeded', 'failed', 'rejected')
            AND EXISTS (SELECT 1 FROM training_jobs n WHERE n.model = training_jobs.model AND n.fencing_token > training_jobs.fencing_token)`,
  },
];

/** The scheduled job: the policy above, deleted rows counted per table. */
export const retainJobs = (pool: Pool, c: { TRAINING_JOBS_KEEP_DAYS: number }, deleted: Counter<'table'>) => (): Promise<Record<string, number>> =>
  runRetention(pool, jobRetention(c), { onDeleted: (table, n) => deleted.inc({ table }, n) });
