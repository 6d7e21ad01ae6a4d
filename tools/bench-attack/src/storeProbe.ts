import type { Pool } from '@flywheel/postgres';

/** What the attacks read from the stack's tables to tell whether anything changed (read-only). */
export interface StoreProbe {
  /** Of these predictions, how many the ab-router holds, and how many have an outcome that counts. */
  outcomes(predictionIds: readonly string[]): Promise<{ rows: number; counted: number }>;
  /** Outcome reports the ab-router received for these predictions (counted or not). */
  outcomeReports(predictionIds: readonly string[]): Promise<number>;
  /** Of these event ids, how many reached the aggregator's ledger. */
  inLedger(eventIds: readonly string[]): Promise<number>;
  /** Ledger rows of a model that teach `label`. */
  ledgerRowsWithLabel(model: string, label: string): Promise<number>;
  /** Everything that says a retraining started or was asked for: aggregator triggers and trainer jobs of the model. */
  retrainingMarks(model: string): Promise<{ triggers: number; jobs: number }>;
  /** The ab-router's routing revision of the model (0 when it has none). */
  routingRevision(model: string): Promise<number>;
  /** An experiment's state and arm totals (n counted per variant). */
  experiment(id: string): Promise<{ state: string; champion: number; challenger: number } | undefined>;
}

const count = async (pool: Pool, sql: string, params: unknown[]): Promise<number> => Number((await pool.query<{ n: string }>(sql, params)).rows[0]?.n ?? 0);
const exists = async (pool: Pool, table: string): Promise<boolean> => (await pool.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [table])).rows[0]?.t != null;

export const createStoreProbe = (pool: Pool): StoreProbe => ({
  outcomes: async (ids) => {
    const r = await pool.query<{ rows: string; counted: string }>(
      'SELECT count(*) AS rows, count(*) FILTER (WHERE correct IS NOT NULL) AS counted FROM ab_outcomes WHERE prediction_id = ANY($1::uuid[])', [ids]);
    return { rows: Number(r.rows[0]?.rows ?? 0), counted: Number(r.rows[0]?.counted ?? 0) };
  },
  outcomeReports: (ids) => count(pool, 'SELECT count(*) AS n FROM ab_outcome_reports WHERE prediction_id = ANY($1::uuid[])', [ids]),
  inLedger: (ids) => count(pool, 'SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = ANY($1::uuid[])', [ids]),
  ledgerRowsWithLabel: (model, label) => count(pool, 'SELECT count(*) AS n FROM aggregator_feedback WHERE model = $1 AND label = $2', [model, label]),
  retrainingMarks: async (model) => ({
    triggers: (await exists(pool, 'aggregator_triggers')) ? await count(pool, 'SELECT count(*) AS n FROM aggregator_triggers WHERE model = $1', [model]) : 0,
    jobs: (await exists(pool, 'training_jobs')) ? await count(pool, 'SELECT count(*) AS n FROM training_jobs WHERE model = $1', [model]) : 0,
  }),
  routingRevision: (model) => count(pool, 'SELECT coalesce(max(revision), 0) AS n FROM ab_routing WHERE model = $1', [model]),
  experiment: async (id) => {
    const e = await pool.query<{ state: string }>('SELECT state FROM ab_experiments WHERE id = $1', [id]);
    const state = e.rows[0]?.state;
    if (state === undefined) return undefined;
    const arms = await pool.query<{ variant: string; n: string }>(
      'SELECT variant, count(*) AS n FROM ab_outcomes WHERE experiment_id = $1 AND correct IS NOT NULL GROUP BY variant', [id]);
    const n = (v: string): number => Number(arms.rows.find((r) => r.variant === v)?.n ?? 0);
    return { state, champion: n('champion'), challenger: n('challenger') };
  },
});
