import { z } from 'zod';
import { FeedbackId, Label, ModelVersion, PredictionId, Variant } from './ids.js';
import { safeString, safeText } from './safeText.js';

/** An API client's name (the `api_clients` row that holds its key). */
export const ClientName = safeString('client').regex(/^[a-z][a-z0-9._-]{0,62}$/, 'a client name is 1-63 characters: a lowercase letter, then lowercase letters, digits, ".", "_" or "-"');
/** How much an API client's evidence is trusted: `trusted` reviewers, `standard` end users. */
export const ClientTrust = z.enum(['trusted', 'standard']);
export type ClientTrust = z.infer<typeof ClientTrust>;

/** What a person or system tells Flywheel about one prediction. */
export const FeedbackKind = z.enum(['misclassification', 'confirmation', 'thumbs_up', 'thumbs_down']);
export type FeedbackKind = z.infer<typeof FeedbackKind>;

/** Free-form, small, JSON-only metadata a caller may attach (bounded so it cannot bloat the log). */
export const FeedbackMetadata = z
  .record(safeString('metadata key').max(100), z.union([safeString('metadata value').max(1000), z.number(), z.boolean(), z.null()]))
  .refine((m) => Object.keys(m).length <= 32, 'metadata holds at most 32 keys');

/** Text limits shared by feedback and predictions. */
export const TEXT_MAX_CHARS = 20_000;
export const Text = safeText('text').min(1, 'text must not be empty').max(TEXT_MAX_CHARS, `text is at most ${TEXT_MAX_CHARS} characters`);

/**
 * The label rules every feedback item obeys, on the wire and at the REST API: a misclassification
 * names a correct label that differs from the predicted one; a confirmation names what it confirms
 * (at the API a predictionId may stand in, since the label is looked up from the logged prediction).
 */
export const checkFeedbackLabels = (
  f: { kind: FeedbackKind; predictedLabel?: string | undefined; correctLabel?: string | undefined; predictionId?: string | undefined },
  ctx: z.RefinementCtx,
  opts: { predictionIdConfirms?: boolean } = {},
): void => {
  if (f.kind === 'misclassification' && f.correctLabel === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['correctLabel'], message: 'a misclassification needs correctLabel' });
  }
  if (f.kind === 'misclassification' && f.predictedLabel !== undefined && f.predictedLabel === f.correctLabel) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['correctLabel'], message: 'a misclassification needs a correctLabel different from predictedLabel' });
  }
  const confirmsSomething = f.predictedLabel !== undefined || f.correctLabel !== undefined || (opts.predictionIdConfirms === true && f.predictionId !== undefined);
  if (f.kind === 'confirmation' && !confirmsSomething) {
    const message = opts.predictionIdConfirms
      ? 'a confirmation needs predictedLabel (or a predictionId whose label it confirms)'
      : 'a confirmation needs predictedLabel (the label being confirmed)';
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['predictedLabel'], message });
  }
};

/**
 * One feedback item as recorded. A misclassification carries the correct label; a confirmation
 * confirms the predicted label; thumbs carry only sentiment about the prediction.
 */
export const FeedbackReceived = z
  .object({
    feedbackId: FeedbackId,
    predictionId: PredictionId.optional(),
    modelVersion: ModelVersion.optional(),
    variant: Variant.optional(),
    text: Text,
    predictedLabel: Label.optional(),
    correctLabel: Label.optional(),
    kind: FeedbackKind,
    reporter: safeString('reporter').min(1).max(200).optional(),
    metadata: FeedbackMetadata.optional(),
    /** Position in the ingest log; absent for events from outside producers. */
    sequence: z.number().int().nonnegative().optional(),
    /**
     * The API client that sent it, as feedback-ingest authenticated it, and that client's trust level.
     * Outside producers have neither (their client is the `/clients/<name>` source, always standard):
     * only ingest, which checked a key, may vouch for a client.
     */
    client: ClientName.optional(),
    clientTrust: ClientTrust.optional(),
    /** A correction naming a label the model does not know yet: recorded, not trainable until accepted. */
    proposedLabel: z.boolean().optional(),
  })
  .superRefine((f, ctx) => checkFeedbackLabels(f, ctx));
export type FeedbackReceived = z.infer<typeof FeedbackReceived>;

/** The label a feedback item teaches, if any: the correction, or the confirmed prediction. */
export const teachingLabel = (f: FeedbackReceived): string | undefined =>
  f.kind === 'misclassification' ? f.correctLabel : f.kind === 'confirmation' ? (f.correctLabel ?? f.predictedLabel) : undefined;

/** Whether the feedback says the prediction was right (true), wrong (false) or does not say (undefined). */
export const outcomeOf = (f: FeedbackReceived): boolean | undefined => {
  switch (f.kind) {
    case 'confirmation':
    case 'thumbs_up':
      return true;
    case 'misclassification':
    case 'thumbs_down':
      return false;
  }
};
