import { z } from 'zod';
import { ModelVersion } from './ids.js';

export const DriftLevel = z.enum(['none', 'warn', 'significant']);
export type DriftLevel = z.infer<typeof DriftLevel>;

/** One drift statistic over one window. Decisions use the effect size; the p-value is context. */
export const DriftMeasurement = z.object({
  feature: z.string().min(1).max(100),
  /** `mmd`: maximum mean discrepancy of hashed n-gram vectors (new vocabulary and topics). */
  test: z.enum(['psi', 'ks', 'chi_square', 'accuracy_drop', 'mmd']),
  statistic: z.number(),
  pValue: z.number().min(0).max(1).optional(),
  effectSize: z.number(),
  level: DriftLevel,
});
export type DriftMeasurement = z.infer<typeof DriftMeasurement>;

/** The drift-monitor's verdict over one window of one model version. */
export const DriftReported = z.object({
  modelVersion: ModelVersion,
  windowStart: z.string().datetime({ offset: true }),
  windowEnd: z.string().datetime({ offset: true }),
  predictions: z.number().int().nonnegative(),
  labelled: z.number().int().nonnegative(),
  measurements: z.array(DriftMeasurement),
  level: DriftLevel,
  triggeredRetraining: z.boolean(),
  /**
   * What the window was compared with: the version's training snapshot (text and label features;
   * confidence still from its first predictions) or, when the snapshot could not be read, the
   * version's first predictions. Optional: older reports do not carry it.
   */
  reference: z.enum(['training_snapshot', 'predictions']).optional(),
  /**
   * The window's accuracy: estimated from the calibrated confidences served (mean confidence of the
   * predicted label, with a 95 % interval), realised over the labels that arrived, and which one the
   * concept-drift rule acted on. Optional: older reports and windows before the confidence reference do not carry it.
   */
  accuracy: z
    .object({
      estimated: z.number().min(0).max(1),
      estimatedLower: z.number().min(0).max(1),
      estimatedUpper: z.number().min(0).max(1),
      realised: z.number().min(0).max(1).optional(),
      labelled: z.number().int().nonnegative(),
      basis: z.enum(['estimated', 'realised']),
    })
    .optional(),
});
export type DriftReported = z.infer<typeof DriftReported>;
