import { z } from 'zod';
import { checkFeedbackLabels, FeedbackKind, FeedbackMetadata, FencingToken, Label, ModelName, ModelVersion, PredictionId, Text, TrainingState, Variant } from '@flywheel/contracts';

/** Items per batch request. */
export const MAX_BATCH_ITEMS = 1000;

const itemFields = {
  model: ModelName,
  predictionId: PredictionId.optional(),
  modelVersion: ModelVersion.optional(),
  variant: Variant.optional(),
  text: Text,
  predictedLabel: Label.optional(),
  correctLabel: Label.optional(),
  kind: FeedbackKind,
  reporter: z.string().min(1).max(200).optional(),
  metadata: FeedbackMetadata.optional(),
};

/**
 * One feedback item as a caller submits it. The same rules as the `feedback-events` schema apply,
 * except that predictedLabel may be left out when predictionId names a prediction Flywheel logged.
 */
export const FeedbackItem = z
  .object(itemFields)
  .strict()
  .superRefine((f, ctx) => checkFeedbackLabels(f, ctx, { predictionIdConfirms: true }));
export type FeedbackItem = z.infer<typeof FeedbackItem>;

/** A batch: validated all-or-nothing; issues name the item by its index (`items.<i>.<field>`). */
export const FeedbackBatch = z.object({ items: z.array(FeedbackItem).min(1, 'send at least one item').max(MAX_BATCH_ITEMS, `a batch holds at most ${MAX_BATCH_ITEMS} items; split it`) }).strict();
export type FeedbackBatch = z.infer<typeof FeedbackBatch>;

/** What a caller learns about one accepted item. */
export const AcceptedItem = z.object({
  feedbackId: z.string().uuid(),
  /** Position in the ingest log; a retraining trigger's feedbackWatermark refers to it. */
  sequence: z.number().int().nonnegative(),
});
export type AcceptedItem = z.infer<typeof AcceptedItem>;

export const BatchAccepted = z.object({ accepted: z.number().int(), items: z.array(AcceptedItem) });
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/** `Idempotency-Key` header: a retry with the same key and body gets the first answer. */
export const IdempotencyKey = z.string().min(1).max(200);

export const ModelParam = z.object({ model: ModelName });

export const RulesView = z.object({
  correctionThreshold: z.number(),
  maxDaysBetweenTrainings: z.number(),
  accuracyFloor: z.number(),
  maxAccuracyDrop: z.number(),
  windowSize: z.number(),
  minWindow: z.number(),
});

/** GET /v1/models/{model}/retraining */
export const RetrainingStatus = z.object({
  model: z.string(),
  pendingCorrections: z.number().int().describe('misclassifications received after the last trigger\'s feedback watermark'),
  pendingFeedback: z.number().int().describe('all feedback received after the last trigger\'s feedback watermark'),
  rules: RulesView,
  lastTrainedAt: z.string().datetime().nullable(),
  lastTrainedVersion: z.string().nullable(),
  lastTrigger: z
    .object({ id: z.string().uuid(), at: z.string().datetime(), reason: z.string(), fencingToken: z.number().int(), feedbackWatermark: z.number().int().nullable() })
    .nullable(),
  currentJob: z
    .object({ jobId: z.string().uuid(), state: TrainingState, progress: z.number(), stage: z.string().nullable(), updatedAt: z.string().datetime() })
    .nullable(),
});
export type RetrainingStatus = z.infer<typeof RetrainingStatus>;

/** POST /v1/admin/models/{model}/retrain */
export const ManualRetrain = z.object({
  reason: z.string().trim().min(1, 'say why the model must retrain').max(2000),
  requestedBy: z.string().min(1).max(200).default('admin'),
}).strict();
export type ManualRetrain = z.infer<typeof ManualRetrain>;

export const ManualRetrainAccepted = z.object({ triggerId: z.string().uuid(), fencingToken: FencingToken, feedbackWatermark: z.number().int() });

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.unknown()).optional(), details: z.unknown().optional() }),
});

/** Query of GET /internal/v1/models/{model}/training-examples. */
export const TrainingExamplesQuery = z.object({
  watermark: z.coerce.number().int().nonnegative().optional().describe('Only feedback with sequence <= watermark (a trigger\'s feedbackWatermark); all feedback when absent.'),
  pseudoLabelMinConfidence: z.coerce.number().min(0).max(1).describe('Predictions at least this confident (and without feedback) become pseudo-labels.'),
  pseudoLabelMaxRows: z.coerce.number().int().min(0).max(1_000_000).describe('At most this many pseudo-labels, newest first; 0 for none.'),
  limit: z.coerce.number().int().min(1).max(10_000_000).optional().describe('At most this many feedback examples (pseudo-labels are capped by pseudoLabelMaxRows): the newest feedback (up to half of them), then a sample of the rest drawn by `seed`; the answer header Flywheel-Examples-Available says how many feedback groups there were.'),
  seed: z.string().min(1).max(200).optional().describe('Seed of the sample: the same seed, watermark and data give the same rows in the same order.'),
}).strict();
export type TrainingExamplesQuery = z.infer<typeof TrainingExamplesQuery>;

/** One line of the training-examples answer (JSONL). */
export const TrainingExample = z.object({
  text: z.string(),
  label: z.string(),
  source: z.enum(['human_correction', 'confirmation', 'pseudo_label']),
  /** The model's confidence, for pseudo-labels only. */
  confidence: z.number().min(0).max(1).optional(),
  /** Split group: `feedback:<id>` or `prediction:<id>`, so one item never lands on both sides of a split. */
  group: z.string(),
  /**
   * Who supplied it. `standard`: a standard client, a producer that did not say, or a pseudo-label
   * (the model's own answer); the trainer trains on these but never judges a candidate on them.
   */
  trust: z.enum(['trusted', 'standard']).describe('trusted: sent by a trusted client; standard: anyone else (standard clients, unattributed feedback, pseudo-labels). Never used to judge a candidate.'),
});
export type TrainingExample = z.infer<typeof TrainingExample>;
