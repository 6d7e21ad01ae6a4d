import { runRetention, type Pool, type RetentionPolicy } from '@flywheel/postgres';
import type { RetentionMetrics } from './abRouterMetrics.js';

const DAY = 86_400_000;

// An experiment whose outcomes are still needed: running, or decided but not yet applied
// (resumeDecisions re-reads its totals).
const LIVE = `(e.state = 'running' OR e.applied_at IS NULL)`;

/**
 * What the ab-router forgets, and when (OUTCOMES_KEEP_DAYS after the prediction, or after the
 * report arrived). Experiments themselves are kept: one row each, the decision history.
 * - ab_outcomes: never while its experiment (A/B arm or shadow comparison) is live: the decision
 *   reads every row of it. Rows of finished experiments and of none (the champion's health watch
 *   reads only its latest HEALTH_WINDOW labelled rows) go once old.
 * - ab_outcome_reports: kept for audit; never while the prediction they report on belongs to a live
 *   experiment. A report whose prediction never arrived goes once old: it cannot count any more.
 * - ab_pending_outcomes: no longer written (migration 003 copied it into the reports).
 */
export const outcomeRetention = (c: { OUTCOMES_KEEP_DAYS: number }): RetentionPolicy[] => {
  const keepMs = c.OUTCOMES_KEEP_DAYS * DAY;
  return [
    {
      table: 'ab_outcomes', column: 'predicted_at', keepMs,
      where: `NOT EXISTS (SELECT 1 FROM ab_experiments e WHERE e.id IN (ab_outcomes.experiment_id, ab_outcomes.shadow_experiment_id) AND ${LIVE})`,
    },
    {
      table: 'ab_outcome_reports', column: 'received_at', keepMs,
      where: `NOT EXISTS (SELECT 1 FROM ab_outcomes o JOIN ab_experiments e ON e.id IN (o.experiment_id, o.shadow_experiment_id)
               WHERE o.prediction_id = ab_outcome_reports.prediction_id AND ${LIVE})`,
    },
    { table: 'ab_pending_outcomes', column: 'received_at', keepMs },
  ];
};

/** The scheduled job: the policies above, deleted rows counted per table. */
export const retainOutcomes = (pool: Pool, c: { OUTCOMES_KEEP_DAYS: number }, metrics: RetentionMetrics) => (): Promise<Record<string, number>> =>
  runRetention(pool, outcomeRetention(c), { onDeleted: (table, n) => metrics.deleted.inc({ table }, n) });
