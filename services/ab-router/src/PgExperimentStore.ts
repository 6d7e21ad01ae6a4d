import type { Pool, PoolClient } from '@flywheel/postgres';
import { z } from 'zod';
import { Conflict } from '@flywheel/runtime';
import { ExperimentSettings } from './experimentSettings.js';

/** A decided rollback of the champion `from`, kept until it is fully applied. */
export const RollbackIntent = z.object({ id: z.string().min(1), from: z.string().min(1), reason: z.string(), automatic: z.boolean() });
export type RollbackIntent = z.infer<typeof RollbackIntent>;

/** Lifecycle of an experiment. `halted`: stopped by the SRM check; `stopped`: by an operator or a newer challenger. */
export const ExperimentState = z.enum(['running', 'promoted', 'rejected', 'halted', 'stopped']);
export type ExperimentState = z.infer<typeof ExperimentState>;

const ExperimentRow = z.object({
  id: z.string().uuid(),
  model: z.string(),
  champion_version: z.string(),
  challenger_version: z.string(),
  split_bps: z.number().int(),
  salt: z.string(),
  method: z.enum(['sequential', 'fixed']),
  config: ExperimentSettings,
  state: ExperimentState,
  started_at: z.date(),
  decided_at: z.date().nullable(),
  decision: z.unknown().nullable(),
  phase: z.enum(['shadow', 'ab']),
});

/** Which test a running experiment is in: `shadow` (challenger scored off the request path, paired) or `ab` (split traffic). */
export type ExperimentPhase = 'shadow' | 'ab';

/** The champion the health check guards (`ab_champions`). */
export interface GuardedChampion {
  version: string;
  since: Date;
  baselineAccuracy: number | null;
  /** Came in without live evidence: judged against the outgoing champion's accuracy even while an experiment runs. */
  onProbation: boolean;
}

/** One experiment as stored. */
export interface Experiment {
  id: string;
  model: string;
  championVersion: string;
  challengerVersion: string;
  splitBps: number;
  salt: string;
  settings: ExperimentSettings;
  state: ExperimentState;
  startedAt: Date;
  decidedAt: Date | null;
  decision: unknown;
  phase: ExperimentPhase;
}

const toExperiment = (raw: unknown): Experiment => {
  const r = ExperimentRow.parse(raw);
  return {
    id: r.id, model: r.model, championVersion: r.champion_version, challengerVersion: r.challenger_version,
    splitBps: r.split_bps, salt: r.salt, settings: r.config, state: r.state, startedAt: r.started_at,
    decidedAt: r.decided_at, decision: r.decision, phase: r.phase,
  };
};

/** Outcome counters of both arms plus assignment counts (distinct subjects) for the SRM check. */
export interface ArmTotals {
  champion: { n: number; successes: number };
  challenger: { n: number; successes: number };
  assigned: { champion: number; challenger: number };
}

/** A shadow test's counters: agreement over every scored request, McNemar's cells over the labelled ones. */
export interface ShadowTotals {
  scored: number;
  agreed: number;
  bothRight: number;
  championOnly: number;
  challengerOnly: number;
  bothWrong: number;
  undecidable: number;
}

/** A prediction as the router records it. */
export interface RecordedPrediction {
  predictionId: string;
  model: string;
  modelVersion: string;
  variant: 'champion' | 'challenger';
  subjectId?: string | undefined;
  experimentId?: string | undefined;
  /** The API client the answer went to; undefined for predictions from before clients (only trusted outcomes count). */
  client?: string | undefined;
  predictedAt: Date;
  /** The label the answer gave (a shadow's answer is judged against the same outcome). */
  label?: string | undefined;
  /** The shadow version's answer to the same request, when it belongs to the running shadow test. */
  shadow?: { experimentId: string; version: string; label: string } | undefined;
}

/** One report of whether a prediction was right, and who made it. */
export interface OutcomeReport {
  /** The feedback event's id: a redelivered event is one report. */
  feedbackId: string;
  predictionId: string;
  /** The reporting API client; undefined when unknown (then only `trusted` can make it count). */
  client?: string | undefined;
  trusted: boolean;
  correct: boolean;
  /** The true label when the report names it (a correction, or a confirmation of a label). */
  trueLabel?: string | undefined;
}

/** A report as kept for audit, and whether it is the one that decided the prediction's outcome. */
export interface StoredOutcomeReport extends OutcomeReport {
  counted: boolean;
  receivedAt: Date;
}

const COLUMNS = 'id, model, champion_version, challenger_version, split_bps, salt, method, config, state, started_at, decided_at, decision, phase';

// Sets a prediction's outcome, once, from the first report that counts: one from the client the
// prediction went to, or from a trusted client (a prediction without a client takes only trusted
// ones). Run after either side writes, so whichever of prediction and report commits second
// resolves the pair (READ COMMITTED sees the other's row). `correct IS NULL` is rechecked under the
// row lock, so of two concurrent resolutions only the first sets it.
const RESOLVE_OUTCOME = `
UPDATE ab_outcomes o SET correct = r.correct, labelled_at = r.received_at, outcome_report_id = r.id, true_label = r.true_label
FROM (
  SELECT r.id, r.correct, r.received_at, r.true_label FROM ab_outcome_reports r JOIN ab_outcomes p ON p.prediction_id = r.prediction_id
  WHERE r.prediction_id = $1 AND (r.trusted OR r.client = p.client)
  ORDER BY r.id LIMIT 1) r
WHERE o.prediction_id = $1 AND o.correct IS NULL`;

const ReportRow = z.object({
  feedback_id: z.string().nullable(), prediction_id: z.string(), client: z.string().nullable(), trusted: z.boolean(),
  correct: z.boolean(), received_at: z.date(), counted: z.boolean(),
});

/**
 * Experiments and their outcomes in PostgreSQL. Arm statistics are SQL aggregates over one row per
 * prediction, so redelivered predictions (ON CONFLICT DO NOTHING) and feedback never double-count.
 */
export class PgExperimentStore {
  /** Over the pool, or over one transaction's client (see decisionTx.ts) so a decision's rows commit together. */
  constructor(private readonly pool: Pool | PoolClient) {}

  /** Starts an experiment; Conflict when one is already running for the model. */
  async create(e: { id: string; model: string; championVersion: string; challengerVersion: string; salt: string; settings: ExperimentSettings; phase?: ExperimentPhase }): Promise<Experiment> {
    try {
      const r = await this.pool.query(
        `INSERT INTO ab_experiments (id, model, champion_version, challenger_version, split_bps, salt, method, config, state, phase)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9) RETURNING ${COLUMNS}`,
        [e.id, e.model, e.championVersion, e.challengerVersion, e.settings.splitBps, e.salt, e.settings.method, JSON.stringify(e.settings), e.phase ?? 'ab'],
      );
      return toExperiment(r.rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new Conflict(`an experiment is already running for ${e.model}; stop it first`, { cause: err });
      throw err;
    }
  }

  async byId(id: string): Promise<Experiment | undefined> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM ab_experiments WHERE id = $1`, [id]);
    return r.rows[0] ? toExperiment(r.rows[0]) : undefined;
  }

  async running(model: string): Promise<Experiment | undefined> {
    const r = await this.pool.query(`SELECT ${COLUMNS} FROM ab_experiments WHERE model = $1 AND state = 'running'`, [model]);
    return r.rows[0] ? toExperiment(r.rows[0]) : undefined;
  }

  async list(filter: { model?: string | undefined; state?: ExperimentState | undefined; limit?: number } = {}): Promise<Experiment[]> {
    const r = await this.pool.query(
      `SELECT ${COLUMNS} FROM ab_experiments WHERE ($1::text IS NULL OR model = $1) AND ($2::text IS NULL OR state = $2)
       ORDER BY started_at DESC LIMIT $3`,
      [filter.model ?? null, filter.state ?? null, filter.limit ?? 100],
    );
    return r.rows.map(toExperiment);
  }

  /** Ends a running experiment; false when it was no longer running (another replica decided first). */
  async finish(id: string, state: Exclude<ExperimentState, 'running'>, decision: unknown): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE ab_experiments SET state = $2, decided_at = now(), decision = $3 WHERE id = $1 AND state = 'running'`,
      [id, state, JSON.stringify(decision)],
    );
    return r.rowCount === 1;
  }

  /** A running shadow test hands over to its A/B phase; false when it was no longer a running shadow test. */
  async enterAbPhase(id: string, shadowDecision: unknown): Promise<boolean> {
    const r = await this.pool.query(
      `UPDATE ab_experiments SET phase = 'ab', shadow_decision = $2 WHERE id = $1 AND state = 'running' AND phase = 'shadow'`,
      [id, JSON.stringify(shadowDecision)],
    );
    return r.rowCount === 1;
  }

  /** Records that a decision's registry change, events and routing are all done. */
  async markApplied(id: string): Promise<void> {
    await this.pool.query('UPDATE ab_experiments SET applied_at = now() WHERE id = $1 AND applied_at IS NULL', [id]);
  }

  /** Decided experiments whose decision was not (fully) applied, decided before `before`, oldest first. */
  async unapplied(before: Date): Promise<Experiment[]> {
    const r = await this.pool.query(
      `SELECT ${COLUMNS} FROM ab_experiments WHERE state <> 'running' AND applied_at IS NULL AND decided_at < $1 ORDER BY decided_at LIMIT 100`,
      [before],
    );
    return r.rows.map(toExperiment);
  }

  /** Records a prediction once (at-least-once delivery) and applies feedback that arrived earlier. */
  async recordPrediction(p: RecordedPrediction): Promise<void> {
    await this.pool.query(
      `INSERT INTO ab_outcomes (prediction_id, model, model_version, experiment_id, variant, subject_id, client, predicted_at, label, shadow_experiment_id, shadow_version, shadow_label)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (prediction_id) DO NOTHING`,
      [p.predictionId, p.model, p.modelVersion, p.experimentId ?? null, p.variant, p.subjectId ?? null, p.client ?? null, p.predictedAt,
        p.label ?? null, p.shadow?.experimentId ?? null, p.shadow?.version ?? null, p.shadow?.label ?? null],
    );
    await this.pool.query(RESOLVE_OUTCOME, [p.predictionId]);
  }

  /**
   * Keeps an outcome report (every one, for audit) and lets it decide the prediction's outcome if
   * it is the first that counts (see RESOLVE_OUTCOME); a later or foreign report changes nothing.
   */
  async recordOutcome(r: OutcomeReport): Promise<void> {
    await this.pool.query(
      `INSERT INTO ab_outcome_reports (feedback_id, prediction_id, client, trusted, correct, true_label) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (feedback_id) DO NOTHING`,
      [r.feedbackId, r.predictionId, r.client ?? null, r.trusted, r.correct, r.trueLabel ?? null],
    );
    await this.pool.query(RESOLVE_OUTCOME, [r.predictionId]);
  }

  /** Every report about a prediction in arrival order, marking the one that counted (audit). */
  async outcomeReports(predictionId: string): Promise<StoredOutcomeReport[]> {
    const r = await this.pool.query(
      `SELECT r.feedback_id, r.prediction_id::text, r.client, r.trusted, r.correct, r.received_at, coalesce(o.outcome_report_id = r.id, false) AS counted
       FROM ab_outcome_reports r LEFT JOIN ab_outcomes o ON o.prediction_id = r.prediction_id
       WHERE r.prediction_id = $1 ORDER BY r.id`,
      [predictionId],
    );
    return r.rows.map((raw) => {
      const x = ReportRow.parse(raw);
      return { feedbackId: x.feedback_id ?? '', predictionId: x.prediction_id, client: x.client ?? undefined, trusted: x.trusted, correct: x.correct, receivedAt: x.received_at, counted: x.counted };
    });
  }

  async armTotals(experimentId: string): Promise<ArmTotals> {
    const r = await this.pool.query<{ variant: string; n: string; successes: string; assigned: string }>(
      `SELECT variant,
              count(correct) AS n,
              count(*) FILTER (WHERE correct) AS successes,
              count(DISTINCT coalesce(subject_id, prediction_id::text)) AS assigned
       FROM ab_outcomes WHERE experiment_id = $1 GROUP BY variant`,
      [experimentId],
    );
    const totals: ArmTotals = { champion: { n: 0, successes: 0 }, challenger: { n: 0, successes: 0 }, assigned: { champion: 0, challenger: 0 } };
    for (const row of r.rows) {
      if (row.variant !== 'champion' && row.variant !== 'challenger') continue;
      totals[row.variant] = { n: Number(row.n), successes: Number(row.successes) };
      totals.assigned[row.variant] = Number(row.assigned);
    }
    return totals;
  }

  /**
   * A shadow test's paired counts. Agreement covers every shadow-scored prediction (known at once,
   * no outcome needed). For labelled ones, the champion's correctness is the counted outcome; the
   * shadow was right when its label is the true label (a correction or confirmation named it), or,
   * when the report only said right/wrong, when it agreed with a right answer. A wrong answer the
   * shadow disagreed with, without a true label, cannot be judged: counted as `undecidable` and left out.
   */
  async shadowTotals(experimentId: string): Promise<ShadowTotals> {
    const r = await this.pool.query<Record<keyof ShadowTotals, string>>(
      `SELECT count(*) AS scored,
              count(*) FILTER (WHERE shadow_label = label) AS agreed,
              count(*) FILTER (WHERE correct AND shadow_correct) AS "bothRight",
              count(*) FILTER (WHERE correct AND NOT shadow_correct) AS "championOnly",
              count(*) FILTER (WHERE NOT correct AND shadow_correct) AS "challengerOnly",
              count(*) FILTER (WHERE NOT correct AND NOT shadow_correct) AS "bothWrong",
              count(*) FILTER (WHERE correct IS NOT NULL AND shadow_correct IS NULL) AS undecidable
       FROM (SELECT label, shadow_label, correct,
                    CASE WHEN correct IS NULL THEN NULL
                         WHEN true_label IS NOT NULL THEN shadow_label = true_label
                         WHEN correct THEN shadow_label = label
                         WHEN shadow_label = label THEN false
                         ELSE NULL END AS shadow_correct
             FROM ab_outcomes WHERE shadow_experiment_id = $1) x`,
      [experimentId],
    );
    const row = r.rows[0];
    const n = (k: keyof ShadowTotals): number => Number(row?.[k] ?? 0);
    return { scored: n('scored'), agreed: n('agreed'), bothRight: n('bothRight'), championOnly: n('championOnly'), challengerOnly: n('challengerOnly'), bothWrong: n('bothWrong'), undecidable: n('undecidable') };
  }

  /** Accuracy over the last `size` labelled predictions of a version made at or after `since`. */
  async recentAccuracy(model: string, version: string, since: Date, size: number): Promise<{ n: number; successes: number }> {
    const r = await this.pool.query<{ n: string; successes: string }>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE correct) AS successes FROM (
         SELECT correct FROM ab_outcomes
         WHERE model = $1 AND model_version = $2 AND correct IS NOT NULL AND predicted_at >= $3
         ORDER BY labelled_at DESC LIMIT $4) w`,
      [model, version, since, size],
    );
    return { n: Number(r.rows[0]?.n ?? 0), successes: Number(r.rows[0]?.successes ?? 0) };
  }

  /** The champion the health watch guards. */
  async champion(model: string): Promise<GuardedChampion | undefined> {
    const r = await this.pool.query<{ version: string; since: Date; baseline_accuracy: number | null; on_probation: boolean }>(
      'SELECT version, since, baseline_accuracy, on_probation FROM ab_champions WHERE model = $1', [model]);
    const row = r.rows[0];
    return row ? { version: row.version, since: row.since, baselineAccuracy: row.baseline_accuracy, onProbation: row.on_probation } : undefined;
  }

  async watchedModels(): Promise<string[]> {
    return (await this.pool.query<{ model: string }>('SELECT model FROM ab_champions ORDER BY model')).rows.map((r) => r.model);
  }

  /**
   * Sets the guarded champion; a version change resets the window start, the baseline and the
   * probation (`onProbation`: the baseline is the outgoing champion's, not live evidence of this one).
   */
  async setChampion(model: string, version: string, baseline?: { accuracy: number; n: number }, onProbation = false): Promise<void> {
    await this.pool.query(
      `INSERT INTO ab_champions (model, version, since, baseline_accuracy, baseline_n, on_probation) VALUES ($1, $2, now(), $3, $4, $5)
       ON CONFLICT (model) DO UPDATE SET version = EXCLUDED.version,
         since = CASE WHEN ab_champions.version = EXCLUDED.version THEN ab_champions.since ELSE now() END,
         on_probation = CASE WHEN ab_champions.version = EXCLUDED.version THEN ab_champions.on_probation ELSE EXCLUDED.on_probation END,
         baseline_accuracy = CASE WHEN ab_champions.version = EXCLUDED.version AND EXCLUDED.baseline_accuracy IS NULL
                                  THEN ab_champions.baseline_accuracy ELSE EXCLUDED.baseline_accuracy END,
         baseline_n = CASE WHEN ab_champions.version = EXCLUDED.version AND EXCLUDED.baseline_n IS NULL
                           THEN ab_champions.baseline_n ELSE EXCLUDED.baseline_n END`,
      [model, version, baseline?.accuracy ?? null, baseline?.n ?? null, onProbation],
    );
  }

  /** The champion's first full window passed its probation. */
  async endProbation(model: string, version: string): Promise<void> {
    await this.pool.query('UPDATE ab_champions SET on_probation = false WHERE model = $1 AND version = $2', [model, version]);
  }

  /**
   * Records that a rollback of `from` was decided (before the registry moves); resumeDecisions
   * finishes it after a crash. A rollback already pending for the model is kept (it may be
   * mid-way); returns whether the pending one is this one (`intent.id`).
   */
  async recordRollbackIntent(model: string, intent: RollbackIntent): Promise<boolean> {
    const { rows } = await this.pool.query<{ id: string | null }>(
      `INSERT INTO ab_champions (model, version, rollback_intent) VALUES ($1, $2, $3)
       ON CONFLICT (model) DO UPDATE SET rollback_intent = COALESCE(ab_champions.rollback_intent, EXCLUDED.rollback_intent)
       RETURNING rollback_intent->>'id' AS id`,
      [model, intent.from, JSON.stringify({ ...intent, at: new Date().toISOString() })],
    );
    return rows[0]?.id === intent.id;
  }

  /** Clears the model's pending rollback (all of them, or only `id`'s). */
  async clearRollbackIntent(model: string, id?: string): Promise<void> {
    await this.pool.query(`UPDATE ab_champions SET rollback_intent = NULL WHERE model = $1 AND ($2::text IS NULL OR rollback_intent->>'id' = $2)`, [model, id ?? null]);
  }

  /** Rollbacks decided before `before` and not finished (a crash between the intent, the registry and our transaction). */
  async pendingRollbacks(before: Date): Promise<{ model: string; intent: RollbackIntent }[]> {
    const { rows } = await this.pool.query<{ model: string; rollback_intent: unknown }>(
      `SELECT model, rollback_intent FROM ab_champions WHERE rollback_intent IS NOT NULL AND (rollback_intent->>'at')::timestamptz < $1 ORDER BY model`,
      [before],
    );
    return rows.map((r) => ({ model: r.model, intent: RollbackIntent.parse(r.rollback_intent) }));
  }

  async setBaseline(model: string, version: string, accuracy: number, n: number): Promise<void> {
    await this.pool.query('UPDATE ab_champions SET baseline_accuracy = $3, baseline_n = $4 WHERE model = $1 AND version = $2', [model, version, accuracy, n]);
  }

  /** Next routing revision for a model, stored with the table it belongs to (monotonic per model). */
  async nextRouting(model: string, build: (revision: number) => unknown): Promise<number> {
    const r = await this.pool.query<{ revision: number }>(
      `INSERT INTO ab_routing (model, revision, routing) VALUES ($1, 1, '{}'::jsonb)
       ON CONFLICT (model) DO UPDATE SET revision = ab_routing.revision + 1, updated_at = now() RETURNING revision`,
      [model],
    );
    const revision = r.rows[0]?.revision ?? 1;
    await this.pool.query('UPDATE ab_routing SET routing = $2 WHERE model = $1 AND revision = $3', [model, JSON.stringify(build(revision)), revision]);
    return revision;
  }
}
