import { z } from 'zod';
import { safeString, safeText } from './safeText.js';
import { FencingToken } from './ids.js';

/** Why retraining was asked for. */
export const TriggerReason = z.enum(['threshold', 'schedule', 'drift', 'performance', 'manual']);
export type TriggerReason = z.infer<typeof TriggerReason>;

/**
 * A request to retrain one model (the envelope subject). Carries the lock's fencing token: the
 * trainer refuses a token lower than one it has already seen for the model.
 */
export const RetrainingRequested = z.object({
  reason: TriggerReason,
  /** The rule's numbers at the moment it fired, e.g. { pendingCorrections: 50, threshold: 50 }. */
  details: z.record(safeString('detail key').max(100), z.union([z.number(), safeString('detail value').max(1000), z.boolean()])),
  requestedBy: safeString('requestedBy').min(1).max(200),
  note: safeText('note').max(2000).optional(),
  fencingToken: FencingToken,
  /** Feedback up to and including this ingest sequence is included in the training set. */
  feedbackWatermark: z.number().int().nonnegative().optional(),
});
export type RetrainingRequested = z.infer<typeof RetrainingRequested>;
