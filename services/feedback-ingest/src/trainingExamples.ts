import { z } from 'zod';
import { FeedbackId, FeedbackKind, teachingLabel } from '@flywheel/contracts';
import type { Pool } from '@flywheel/postgres';
import type { TrainingExample, TrainingExamplesQuery } from './httpSchemas.js';

/** What a model can learn from now, as feedback-ingest (the owner of the feedback tables) defines it. */
export interface TrainingExamples {
  /**
   * Human corrections and confirmations up to the watermark (the latest word on each prediction
   * wins), then confident predictions nobody gave feedback on as pseudo-labels, newest first.
   * Items proposing a label not yet accepted (proposed_label) are left out: they teach nothing yet.
   * Each row says who supplied it (`trust`): unattributed feedback (client_trust NULL) and
   * pseudo-labels count as `standard`, so only trusted clients' rows can ever judge a candidate.
   */
  stream(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]>;
}

const FeedbackRow = z.object({
  id: z.string(),
  group_key: z.string(),
  sequence: z.coerce.number(),
  text: z.string(),
  kind: FeedbackKind,
  correct_label: z.string().nullable(),
  predicted_label: z.string().nullable(),
  client_trust: z.enum(['trusted', 'standard']).nullable(),
});
const PredictionRow = z.object({ prediction_id: z.string(), text: z.string(), label: z.string(), confidence: z.number() });

/** The label a stored row teaches, by the rule of @flywheel/contracts (not restated in SQL). */
const labelOf = (r: z.infer<typeof FeedbackRow>): string | undefined =>
  teachingLabel({
    feedbackId: FeedbackId.parse(r.id),
    text: r.text,
    kind: r.kind,
    ...(r.correct_label !== null ? { correctLabel: r.correct_label } : {}),
    ...(r.predicted_label !== null ? { predictedLabel: r.predicted_label } : {}),
  });

/**
 * TrainingExamples over the `feedback` and `predictions` tables. Feedback is read in pages ordered
 * by (prediction or feedback id, newest first), so memory stays bounded and each prediction's rows
 * arrive together: the first row of a group that teaches a label is its latest word.
 */
export class PgTrainingExamples implements TrainingExamples {
  constructor(private readonly pool: Pool, private readonly pageSize = 2_000) {}

  async *stream(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]> {
    let after: { key: string; sequence: number } | undefined;
    let lastTaken: string | undefined;
    for (;;) {
      const rows = (await this.pool.query(
        `SELECT id::text AS id, COALESCE(prediction_id::text, id::text) AS group_key, sequence, text, kind, correct_label, predicted_label, client_trust
           FROM feedback
          WHERE model = $1 AND NOT proposed_label AND ($2::bigint IS NULL OR sequence <= $2)
            AND ($3::text IS NULL OR (COALESCE(prediction_id::text, id::text), -sequence) > ($3::text, -$4::bigint))
          ORDER BY COALESCE(prediction_id::text, id::text), sequence DESC
          LIMIT $5`,
        [model, q.watermark ?? null, after?.key ?? null, after?.sequence ?? 0, this.pageSize],
      )).rows.map((r) => FeedbackRow.parse(r));
      const page: TrainingExample[] = [];
      for (const r of rows) {
        if (r.group_key === lastTaken) continue;
        const label = labelOf(r);
        if (label === undefined) continue;
        lastTaken = r.group_key;
        page.push({ text: r.text, label, source: r.kind === 'misclassification' ? 'human_correction' : 'confirmation', group: `feedback:${r.id}`, trust: r.client_trust ?? 'standard' });
      }
      if (page.length > 0) yield page;
      const last = rows.at(-1);
      if (!last || rows.length < this.pageSize) break;
      after = { key: last.group_key, sequence: last.sequence };
    }
    if (q.pseudoLabelMaxRows === 0) return;
    const preds = (await this.pool.query(
      `SELECT p.prediction_id::text AS prediction_id, p.text, p.label, p.confidence FROM predictions p
        WHERE p.model = $1 AND p.confidence >= $2
          AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.prediction_id = p.prediction_id)
        ORDER BY p.created_at DESC LIMIT $3`,
      [model, q.pseudoLabelMinConfidence, q.pseudoLabelMaxRows],
    )).rows.map((r) => PredictionRow.parse(r));
    if (preds.length > 0) yield preds.map((r) => ({ text: r.text, label: r.label, source: 'pseudo_label' as const, confidence: r.confidence, group: `prediction:${r.prediction_id}`, trust: 'standard' as const }));
  }
}
