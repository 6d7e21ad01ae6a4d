import { z } from 'zod';

const Iso = z.string().datetime({ offset: true });
const Rate = z.number().min(0).max(1);

/** Whether a section's data could be read; a section whose source failed says why instead of showing nothing. */
export const SourceStatus = z.object({ ok: z.boolean(), note: z.string().optional() });
export type SourceStatus = z.infer<typeof SourceStatus>;

/** One drift window and its verdict. */
export const ReportWindow = z.object({
  modelVersion: z.string(),
  windowStart: Iso,
  windowEnd: Iso,
  predictions: z.number().int().nonnegative(),
  labelled: z.number().int().nonnegative(),
  level: z.enum(['none', 'warn', 'significant']),
  triggeredRetraining: z.boolean(),
  /** Realised accuracy of the window's labelled outcomes; null when the window carries none. */
  realisedAccuracy: Rate.nullable(),
  /** Estimated accuracy (CBPE, from confidences); null when the window carries none. */
  estimatedAccuracy: Rate.nullable(),
  /** The largest effect size per test (psi, ks, chi_square, accuracy_drop) in the window. */
  effects: z.record(z.number()),
  /** Measurements at warn or significant, as `feature test=effect (level)`. */
  findings: z.array(z.string()),
});
export type ReportWindow = z.infer<typeof ReportWindow>;

/** Realised accuracy of one UTC day: feedback that says whether a prediction was right. */
export const DailyAccuracy = z.object({ day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), n: z.number().int().positive(), correct: z.number().int().nonnegative(), accuracy: Rate });
export type DailyAccuracy = z.infer<typeof DailyAccuracy>;

/** An A/B experiment that ran during the period, with its decision. */
export const ReportExperiment = z.object({
  id: z.string(),
  championVersion: z.string(),
  challengerVersion: z.string(),
  state: z.string(),
  startedAt: Iso,
  decidedAt: Iso.nullable(),
  /** promote / reject / continue for a decided or previewed experiment, null when unknown. */
  decision: z.string().nullable(),
  /** Outcomes per arm and accuracy, as `champion 91.0% (n=1200) · challenger 93.5% (n=140)`. */
  detail: z.string(),
});
export type ReportExperiment = z.infer<typeof ReportExperiment>;

/** A change of champion. */
export const ModelChange = z.object({ at: Iso, action: z.enum(['promoted', 'rolled_back']), version: z.string(), actor: z.string(), reason: z.string() });
export type ModelChange = z.infer<typeof ModelChange>;

export const ConfusedPair = z.object({ predicted: z.string(), corrected: z.string(), count: z.number().int().positive() });
export type ConfusedPair = z.infer<typeof ConfusedPair>;

/** A label people named that the model does not know yet, waiting for acceptance. */
export const WaitingLabel = z.object({ label: z.string(), reports: z.number().int(), pendingItems: z.number().int(), firstSeen: Iso });
export type WaitingLabel = z.infer<typeof WaitingLabel>;

/** The JSON twin of the weekly report page: everything the page shows, as data. */
export const WeeklyReport = z.object({
  model: z.string(),
  /** [from, to) in UTC; `isoWeek` when the period is one ISO week (the scheduled report). */
  period: z.object({ from: Iso, to: Iso, isoWeek: z.string().optional() }),
  generatedAt: Iso,
  accuracy: z.object({
    realisedDaily: z.array(DailyAccuracy),
    /** False when no window of the period carried an estimated accuracy: the page says so and shows realised accuracy only. */
    estimatedAvailable: z.boolean(),
  }),
  windows: z.array(ReportWindow),
  experiments: z.array(ReportExperiment),
  modelChanges: z.array(ModelChange),
  confusedPairs: z.array(ConfusedPair),
  waitingLabels: z.array(WaitingLabel),
  sources: z.object({ drift: SourceStatus, feedback: SourceStatus, registry: SourceStatus, experiments: SourceStatus, labels: SourceStatus }),
});
export type WeeklyReport = z.infer<typeof WeeklyReport>;
