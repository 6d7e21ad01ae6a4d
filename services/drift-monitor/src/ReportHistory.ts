import { z } from 'zod';
import { DriftReported } from '@flywheel/contracts';
import type { ConfusedPair, WindowInput } from '@flywheel/reports';
import type { Pool } from '@flywheel/postgres';

/** One feedback verdict as the reports keep it. */
export interface FeedbackVerdict {
  feedbackId: string;
  model: string;
  modelVersion?: string | undefined;
  predictedLabel?: string | undefined;
  correctLabel?: string | undefined;
  /** Undefined when the feedback does not say whether the prediction was right. */
  correct?: boolean | undefined;
  receivedAt: Date;
}

/** What the weekly reports read and the reports' consumer writes (PgReportHistory). */
export interface ReportHistory {
  recordWindow(eventId: string, model: string, report: unknown): Promise<void>;
  recordFeedback(v: FeedbackVerdict): Promise<void>;
  windows(model: string, from: Date, to: Date): Promise<WindowInput[]>;
  outcomesByDay(model: string, from: Date, to: Date): Promise<{ day: string; n: number; correct: number }[]>;
  confusions(model: string, from: Date, to: Date): Promise<ConfusedPair[]>;
  prune(olderThan: Date): Promise<number>;
}

const Accuracy = z.union([z.number().min(0).max(1), z.object({ accuracy: z.number().min(0).max(1) }).passthrough()]);
/**
 * The accuracies a window report may carry: `accuracy: { estimated, realised? }` (estimated from the
 * calibrated confidences, CBPE; realised over the labels that arrived). Older reports carry none.
 * Read leniently from the stored event rather than through DriftReported's type, so a report made
 * from older rows, or rows of a producer that names them `estimatedAccuracy`, still works; without
 * them a report shows realised accuracy from the feedback verdicts kept here and says so.
 */
const WindowAccuracies = z.object({
  realisedAccuracy: Accuracy.optional(),
  estimatedAccuracy: Accuracy.optional(),
  accuracy: z.object({ realised: Accuracy.optional(), estimated: Accuracy.optional() }).passthrough().optional(),
}).passthrough();
const rate = (a: z.infer<typeof Accuracy> | undefined): number | undefined => (a === undefined ? undefined : typeof a === 'number' ? a : a.accuracy);

/** The realised and estimated accuracy a recorded window report carries, if any. */
export const accuraciesOf = (report: unknown): { realised?: number; estimated?: number } => {
  const r = WindowAccuracies.safeParse(report);
  if (!r.success) return {};
  const realised = rate(r.data.realisedAccuracy) ?? rate(r.data.accuracy?.realised);
  const estimated = rate(r.data.estimatedAccuracy) ?? rate(r.data.accuracy?.estimated);
  return { ...(realised === undefined ? {} : { realised }), ...(estimated === undefined ? {} : { estimated }) };
};

const WindowRow = z.object({ report: z.unknown(), fb_n: z.coerce.number(), fb_correct: z.coerce.number() });
const DayRow = z.object({ day: z.string(), n: z.coerce.number(), correct: z.coerce.number() });
const PairRow = z.object({ predicted: z.string(), corrected: z.string(), count: z.coerce.number() });

/** ReportHistory over drift_report_windows and drift_report_feedback (migrations/002). */
export class PgReportHistory implements ReportHistory {
  constructor(private readonly pool: Pool) {}

  async recordWindow(eventId: string, model: string, report: unknown): Promise<void> {
    const r = DriftReported.parse(report);
    await this.pool.query(
      `INSERT INTO drift_report_windows (event_id, model, model_version, window_start, window_end, report) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (event_id) DO NOTHING`,
      [eventId, model, r.modelVersion, r.windowStart, r.windowEnd, JSON.stringify(report)],
    );
  }

  async recordFeedback(v: FeedbackVerdict): Promise<void> {
    await this.pool.query(
      `INSERT INTO drift_report_feedback (feedback_id, model, model_version, predicted_label, correct_label, correct, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (feedback_id) DO NOTHING`,
      [v.feedbackId, v.model, v.modelVersion ?? null, v.predictedLabel ?? null, v.correctLabel ?? null, v.correct ?? null, v.receivedAt],
    );
  }

  /** Windows that ended in [from, to), oldest first; realised accuracy from the feedback on that version received during the window when the report carries none. */
  async windows(model: string, from: Date, to: Date): Promise<WindowInput[]> {
    const { rows } = await this.pool.query(
      `SELECT w.report,
              count(f.correct) AS fb_n,
              count(*) FILTER (WHERE f.correct) AS fb_correct
         FROM drift_report_windows w
         LEFT JOIN drift_report_feedback f
           ON f.model = w.model AND f.model_version = w.model_version AND f.received_at >= w.window_start AND f.received_at < w.window_end
        WHERE w.model = $1 AND w.window_end >= $2 AND w.window_end < $3
        GROUP BY w.event_id, w.report, w.window_end
        ORDER BY w.window_end`,
      [model, from, to],
    );
    return rows.map((raw) => {
      const row = WindowRow.parse(raw);
      const r = DriftReported.parse(row.report);
      const acc = accuraciesOf(row.report);
      const realised = acc.realised ?? (row.fb_n > 0 ? row.fb_correct / row.fb_n : undefined);
      return {
        modelVersion: r.modelVersion, windowStart: r.windowStart, windowEnd: r.windowEnd, predictions: r.predictions, labelled: r.labelled,
        level: r.level, triggeredRetraining: r.triggeredRetraining, measurements: r.measurements,
        ...(realised === undefined ? {} : { realisedAccuracy: realised }), ...(acc.estimated === undefined ? {} : { estimatedAccuracy: acc.estimated }),
      };
    });
  }

  /** Feedback that says whether a prediction was right, per UTC day. */
  async outcomesByDay(model: string, from: Date, to: Date): Promise<{ day: string; n: number; correct: number }[]> {
    const { rows } = await this.pool.query(
      `SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n, count(*) FILTER (WHERE correct) AS correct
         FROM drift_report_feedback WHERE model = $1 AND received_at >= $2 AND received_at < $3 AND correct IS NOT NULL
        GROUP BY 1 ORDER BY 1`,
      [model, from, to],
    );
    return rows.map((r) => DayRow.parse(r));
  }

  /** Corrections per (predicted, corrected) label pair, most frequent first. */
  async confusions(model: string, from: Date, to: Date): Promise<ConfusedPair[]> {
    const { rows } = await this.pool.query(
      `SELECT predicted_label AS predicted, correct_label AS corrected, count(*) AS count
         FROM drift_report_feedback
        WHERE model = $1 AND received_at >= $2 AND received_at < $3
          AND predicted_label IS NOT NULL AND correct_label IS NOT NULL AND predicted_label <> correct_label
        GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 100`,
      [model, from, to],
    );
    return rows.map((r) => PairRow.parse(r));
  }

  /** Removes windows and verdicts older than `olderThan`; returns how many rows went. */
  async prune(olderThan: Date): Promise<number> {
    const a = await this.pool.query('DELETE FROM drift_report_windows WHERE window_end < $1', [olderThan]);
    const b = await this.pool.query('DELETE FROM drift_report_feedback WHERE received_at < $1', [olderThan]);
    return (a.rowCount ?? 0) + (b.rowCount ?? 0);
  }
}
