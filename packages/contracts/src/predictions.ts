import { z } from 'zod';
import { Label, ModelVersion, PredictionId, Variant } from './ids.js';
import { ClientName, Text } from './feedback.js';
import { safeString } from './safeText.js';

/** One answer of serving, logged for drift monitoring, A/B joins and pseudo-labels. */
export const PredictionMade = z.object({
  predictionId: PredictionId,
  modelVersion: ModelVersion,
  variant: Variant,
  /** Sticky routing key (user, session, document) when the caller gave one. */
  subjectId: safeString('subjectId').min(1).max(200).optional(),
  experimentId: z.string().uuid().optional(),
  text: Text,
  label: Label,
  confidence: z.number().min(0).max(1),
  topK: z.array(z.object({ label: Label, probability: z.number().min(0).max(1) })).max(50).optional(),
  /** Share of the text's hashed features the model never saw in training, 0..1. */
  oovRate: z.number().min(0).max(1).optional(),
  latencyMs: z.number().nonnegative(),
  /** The API client the answer went to: only its outcomes (or a trusted client's) count for the test. */
  client: ClientName.optional(),
  /**
   * A shadow challenger's answer to the same request, scored after the answer was sent (off the
   * request path) when the routing table names a shadow version. The caller saw `label`; this only
   * lets the ab-router compare both on the same items (paired). Absent when no shadow ran or the
   * shadow queue was full.
   */
  shadow: z.object({ modelVersion: ModelVersion, label: Label, confidence: z.number().min(0).max(1), experimentId: z.string().uuid().optional() }).optional(),
});
export type PredictionMade = z.infer<typeof PredictionMade>;
