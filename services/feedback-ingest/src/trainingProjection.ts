import { z } from 'zod';
import type { EventOf } from '@flywheel/contracts';
import type { Pool, PoolClient } from '@flywheel/postgres';
import type { RetrainRules } from '@flywheel/contracts';
import type { RetrainingStatus } from './httpSchemas.js';
import type { Projection } from './ports.js';

/** Reads what the status route answers. */
export interface TrainingView {
  status(model: string, rules: RetrainRules): Promise<RetrainingStatus>;
}

const iso = (d: unknown): string | null => (d instanceof Date ? d.toISOString() : d === null || d === undefined ? null : new Date(String(d)).toISOString());
const num = z.coerce.number();
const TrainingRow = z.object({
  last_trained_at: z.date().nullable(),
  last_trained_version: z.string().nullable(),
  last_trigger_id: z.string().nullable(),
  last_trigger_at: z.date().nullable(),
  last_trigger_reason: z.string().nullable(),
  last_trigger_token: num.nullable(),
  last_trigger_watermark: num.nullable(),
  job_id: z.string().nullable(),
  job_state: z.enum(['queued', 'running', 'succeeded', 'failed', 'rejected']).nullable(),
  job_progress: z.number().nullable(),
  job_stage: z.string().nullable(),
  job_updated_at: z.date().nullable(),
});
const Counts = z.object({ corrections: num, total: num });

/**
 * Small projections feedback-ingest keeps so it can answer "retraining status" on its own:
 * predictions (for filling feedback and for the trainer), the last trigger, the current job and
 * the last successful training. Handlers are idempotent: replays and stale events change nothing.
 */
export class PgTrainingProjection implements TrainingView, Projection {
  constructor(private readonly pool: Pool) {}

  async onPrediction(e: EventOf<'predictions'>): Promise<void> {
    const d = e.data;
    await this.pool.query(
      `INSERT INTO predictions (prediction_id, model, model_version, variant, subject_id, experiment_id, text, label, confidence, top_k, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (prediction_id) DO NOTHING`,
      [d.predictionId, e.subject, d.modelVersion, d.variant, d.subjectId ?? null, d.experimentId ?? null, d.text, d.label, d.confidence, d.topK ? JSON.stringify(d.topK) : null, e.time],
    );
  }

  async onTrigger(e: EventOf<'retrainingTriggers'>): Promise<void> {
    await this.pool.query(
      `INSERT INTO feedback_ingest_training (model, last_trigger_id, last_trigger_at, last_trigger_reason, last_trigger_token, last_trigger_watermark)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (model) DO UPDATE SET last_trigger_id = $2, last_trigger_at = $3, last_trigger_reason = $4, last_trigger_token = $5, last_trigger_watermark = $6
       WHERE feedback_ingest_training.last_trigger_at IS NULL OR feedback_ingest_training.last_trigger_at <= $3`,
      [e.subject, e.id, e.time, e.data.reason, e.data.fencingToken, e.data.feedbackWatermark ?? null],
    );
  }

  async onTrainingStatus(e: EventOf<'trainingStatus'>): Promise<void> {
    const d = e.data;
    const trained = d.state === 'succeeded' ? e.time : null;
    await this.pool.query(
      `INSERT INTO feedback_ingest_training (model, job_id, job_state, job_progress, job_stage, job_updated_at, last_trained_at, last_trained_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (model) DO UPDATE SET job_id = $2, job_state = $3, job_progress = $4, job_stage = $5, job_updated_at = $6,
         last_trained_at = COALESCE($7, feedback_ingest_training.last_trained_at),
         last_trained_version = COALESCE($8, feedback_ingest_training.last_trained_version)
       WHERE feedback_ingest_training.job_updated_at IS NULL OR feedback_ingest_training.job_updated_at <= $6`,
      [e.subject, d.jobId, d.state, d.progress, d.stage ?? null, e.time, trained, trained ? (d.version ?? null) : null],
    );
  }

  async onModelUpdate(e: EventOf<'modelUpdates'>): Promise<void> {
    // A registered challenger is the product of a finished training, even if training-status was missed.
    if (e.data.action !== 'challenger_registered') return;
    await this.pool.query(
      `INSERT INTO feedback_ingest_training (model, last_trained_at, last_trained_version) VALUES ($1, $2, $3)
       ON CONFLICT (model) DO UPDATE SET last_trained_at = $2, last_trained_version = $3
       WHERE feedback_ingest_training.last_trained_at IS NULL OR feedback_ingest_training.last_trained_at <= $2`,
      [e.subject, e.time, e.data.version],
    );
  }

  async status(model: string, rules: RetrainRules): Promise<RetrainingStatus> {
    const raw = (await this.pool.query('SELECT * FROM feedback_ingest_training WHERE model = $1', [model])).rows[0] as unknown;
    const t = raw === undefined ? undefined : TrainingRow.parse(raw);
    // Pending = feedback after the last trigger's watermark (or its time when the trigger had none).
    const counts = Counts.parse(
      (await this.pool.query(
        `SELECT count(*) FILTER (WHERE kind = 'misclassification' AND NOT proposed_label) AS corrections, count(*) AS total FROM feedback
         WHERE model = $1 AND sequence > $2 AND created_at > $3`,
        [model, t?.last_trigger_watermark ?? 0, t?.last_trigger_watermark == null && t?.last_trigger_at ? t.last_trigger_at : new Date(0)],
      )).rows[0],
    );
    return {
      model,
      pendingCorrections: counts.corrections,
      pendingFeedback: counts.total,
      rules: { ...rules },
      lastTrainedAt: iso(t?.last_trained_at),
      lastTrainedVersion: t?.last_trained_version ?? null,
      lastTrigger: t?.last_trigger_id && t.last_trigger_at
        ? { id: t.last_trigger_id, at: t.last_trigger_at.toISOString(), reason: t.last_trigger_reason ?? 'unknown', fencingToken: t.last_trigger_token ?? 0, feedbackWatermark: t.last_trigger_watermark }
        : null,
      currentJob: t?.job_id && t.job_state && t.job_updated_at
        ? { jobId: t.job_id, state: t.job_state, progress: t.job_progress ?? 0, stage: t.job_stage, updatedAt: t.job_updated_at.toISOString() }
        : null,
    };
  }

  /** The highest ingest sequence of a model's feedback so far (0 when none); `db` lets a caller read inside its transaction. */
  async latestSequence(model: string, db: Pool | PoolClient = this.pool): Promise<{ sequence: number; pendingCorrections: number }> {
    const r = z.object({ s: num, c: num }).parse(
      (await db.query(
        `SELECT COALESCE(max(sequence), 0) AS s, count(*) FILTER (WHERE kind = 'misclassification' AND NOT proposed_label AND sequence > COALESCE((SELECT last_trigger_watermark FROM feedback_ingest_training WHERE model = $1), 0)) AS c
         FROM feedback WHERE model = $1`,
        [model],
      )).rows[0],
    );
    return { sequence: r.s, pendingCorrections: r.c };
  }
}
