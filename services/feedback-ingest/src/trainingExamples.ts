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
   * With `limit` (and `seed`), at most that many feedback examples: see PgTrainingExamples.sampled.
   */
  stream(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]>;
  /**
   * Feedback groups (a prediction's rows, or one item without a prediction) under the watermark: what
   * a limited stream samples from. An upper bound of the feedback examples: a group whose rows
   * teach no label (a lone thumbs-down) yields none.
   */
  available(model: string, q: TrainingExamplesQuery): Promise<number>;
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

  async available(model: string, q: TrainingExamplesQuery): Promise<number> {
    const r = await this.pool.query(
      `SELECT count(DISTINCT COALESCE(prediction_id, id)) AS n FROM feedback
        WHERE model = $1 AND NOT proposed_label AND ($2::bigint IS NULL OR sequence <= $2)`,
      [model, q.watermark ?? null],
    );
    return z.object({ n: z.coerce.number() }).parse(r.rows[0]).n;
  }

  async *stream(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]> {
    if (q.limit !== undefined || q.seed !== undefined) yield* this.sampled(model, q);
    else yield* this.everything(model, q);
    yield* this.pseudoLabels(model, q);
  }

  /**
   * At most `limit` feedback examples: the newest feedback first (up to half the limit, whatever
   * the seed: the corrections that triggered this retraining must be in it), then the rest as a
   * sample drawn by the seed: groups in the order of md5(seed || group), the first that teach a
   * label. A hash order is a uniform shuffle (every older correction equally likely to be kept,
   * whatever its age or label) that PostgreSQL sorts once and the same seed repeats exactly; a
   * cursor in one read-only snapshot streams it in pages.
   */
  private async *sampled(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]> {
    const limit = q.limit ?? Number.POSITIVE_INFINITY;
    const newest = q.limit === undefined ? 0 : Math.floor(q.limit / 2);
    const client = await this.pool.connect();
    let done = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // The sequence of the newest-th newest row: groups with a row at or after it come first.
      const newestFrom = newest === 0 ? null : z.object({ sequence: z.coerce.number() }).optional().parse((await client.query(
        `SELECT sequence FROM feedback WHERE model = $1 AND NOT proposed_label AND ($2::bigint IS NULL OR sequence <= $2)
          ORDER BY sequence DESC OFFSET $3 LIMIT 1`,
        [model, q.watermark ?? null, newest - 1],
      )).rows[0])?.sequence ?? 0;
      await client.query(
        `DECLARE training_sample NO SCROLL CURSOR FOR
         SELECT id, group_key, sequence, text, kind, correct_label, predicted_label, client_trust FROM (
           SELECT id::text AS id, COALESCE(prediction_id::text, id::text) AS group_key, sequence, text, kind, correct_label, predicted_label, client_trust,
                  max(sequence) OVER (PARTITION BY COALESCE(prediction_id::text, id::text)) AS group_sequence
             FROM feedback
            WHERE model = $1 AND NOT proposed_label AND ($2::bigint IS NULL OR sequence <= $2)) f
          ORDER BY ($4::bigint IS NOT NULL AND group_sequence >= $4) DESC, md5($3 || group_key), group_key, sequence DESC`,
        [model, q.watermark ?? null, q.seed ?? '', newestFrom],
      );
      let lastTaken: string | undefined;
      let taken = 0;
      while (taken < limit) {
        const rows = (await client.query(`FETCH ${this.pageSize} FROM training_sample`)).rows.map((r) => FeedbackRow.parse(r));
        const page: TrainingExample[] = [];
        for (const r of rows) {
          if (taken >= limit) break;
          const e = this.exampleOf(r, lastTaken);
          if (!e) continue;
          lastTaken = r.group_key;
          page.push(e);
          taken++;
        }
        if (page.length > 0) yield page;
        if (rows.length < this.pageSize) break;
      }
      await client.query('COMMIT');
      done = true;
    } finally {
      if (!done) await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }

  /** The first row of a group that teaches a label, as an example; undefined for the rest. */
  private exampleOf(r: z.infer<typeof FeedbackRow>, lastTaken: string | undefined): TrainingExample | undefined {
    if (r.group_key === lastTaken) return undefined;
    const label = labelOf(r);
    if (label === undefined) return undefined;
    return { text: r.text, label, source: r.kind === 'misclassification' ? 'human_correction' : 'confirmation', group: `feedback:${r.id}`, trust: r.client_trust ?? 'standard' };
  }

  private async *everything(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]> {
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
        const e = this.exampleOf(r, lastTaken);
        if (!e) continue;
        lastTaken = r.group_key;
        page.push(e);
      }
      if (page.length > 0) yield page;
      const last = rows.at(-1);
      if (!last || rows.length < this.pageSize) break;
      after = { key: last.group_key, sequence: last.sequence };
    }
  }

  private async *pseudoLabels(model: string, q: TrainingExamplesQuery): AsyncIterable<TrainingExample[]> {
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
