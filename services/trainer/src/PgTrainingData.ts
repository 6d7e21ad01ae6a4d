import { z } from 'zod';
import type { Example } from '@flywheel/learning';
import type { Pool } from '@flywheel/postgres';

/** New rows to learn from, read from feedback-ingest's tables (read-only). */
export interface TrainingDataSource {
  /**
   * Human corrections and confirmations up to `watermark` (the ingest sequence, all when absent),
   * and high-confidence predictions without feedback as pseudo-labels.
   */
  fresh(model: string, opts: { watermark?: number; pseudoLabelMinConfidence: number; pseudoLabelMaxRows: number }): Promise<Example[]>;
}

const FeedbackRow = z.object({ text: z.string(), label: z.string(), kind: z.enum(['misclassification', 'confirmation']), id: z.string() });
const PredictionRow = z.object({ text: z.string(), label: z.string(), confidence: z.number(), prediction_id: z.string() });

/**
 * TrainingDataSource over the `feedback` and `predictions` tables (services/feedback-ingest/migrations).
 * `schema` names where they live (feedback-ingest's PG_SCHEMA).
 */
export class PgTrainingData implements TrainingDataSource {
  constructor(private readonly pool: Pool, private readonly schema = 'public') {}

  async fresh(model: string, opts: { watermark?: number; pseudoLabelMinConfidence: number; pseudoLabelMaxRows: number }): Promise<Example[]> {
    const s = `"${this.schema}"`;
    // The latest word on a text wins: a correction after a confirmation of the same prediction overrides it.
    const feedback = await this.pool.query(
      `SELECT DISTINCT ON (COALESCE(prediction_id::text, id::text)) id::text AS id, text, kind,
              CASE WHEN kind = 'misclassification' THEN correct_label ELSE COALESCE(correct_label, predicted_label) END AS label
         FROM ${s}.feedback
        WHERE model = $1 AND kind IN ('misclassification', 'confirmation') AND ($2::bigint IS NULL OR sequence <= $2)
          AND (CASE WHEN kind = 'misclassification' THEN correct_label ELSE COALESCE(correct_label, predicted_label) END) IS NOT NULL
        ORDER BY COALESCE(prediction_id::text, id::text), sequence DESC`,
      [model, opts.watermark ?? null],
    );
    const out: Example[] = feedback.rows.map((raw) => {
      const r = FeedbackRow.parse(raw);
      return { text: r.text, label: r.label, source: r.kind === 'misclassification' ? 'human_correction' : 'confirmation', group: `feedback:${r.id}` };
    });
    if (opts.pseudoLabelMaxRows > 0) {
      const preds = await this.pool.query(
        `SELECT p.prediction_id::text AS prediction_id, p.text, p.label, p.confidence FROM ${s}.predictions p
          WHERE p.model = $1 AND p.confidence >= $2
            AND NOT EXISTS (SELECT 1 FROM ${s}.feedback f WHERE f.prediction_id = p.prediction_id)
          ORDER BY p.created_at DESC LIMIT $3`,
        [model, opts.pseudoLabelMinConfidence, opts.pseudoLabelMaxRows],
      );
      for (const raw of preds.rows) {
        const r = PredictionRow.parse(raw);
        out.push({ text: r.text, label: r.label, source: 'pseudo_label', confidence: r.confidence, group: `prediction:${r.prediction_id}` });
      }
    }
    return out;
  }
}
