import { z } from 'zod';

/**
 * One line of feedback-ingest's training-examples answer (GET /internal/v1/models/:model/training-examples,
 * JSONL). The trainer's own copy of the shape: services share no code, only the wire format.
 */
export const TrainingRow = z.object({
  text: z.string().min(1),
  label: z.string().min(1),
  source: z.enum(['human_correction', 'confirmation', 'pseudo_label']),
  confidence: z.number().min(0).max(1).optional(),
  /** split group: one item never lands on both sides of a split */
  group: z.string().min(1),
  /** who supplied it: `standard` rows are trained on, never judged on (keepOutOfHeldOut) */
  trust: z.enum(['trusted', 'standard']),
});
export type TrainingRow = z.infer<typeof TrainingRow>;
