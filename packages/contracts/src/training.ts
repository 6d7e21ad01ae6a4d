import { z } from 'zod';
import { FencingToken, JobId, ModelVersion } from './ids.js';

export const TrainingState = z.enum(['queued', 'running', 'succeeded', 'failed', 'rejected']);
export type TrainingState = z.infer<typeof TrainingState>;

/** Metric name → value, e.g. accuracy, macroF1, forgetting. */
export const Metrics = z.record(z.string(), z.number());
export type Metrics = z.infer<typeof Metrics>;

/** Progress of one training job. `rejected` means it trained but failed a quality gate. */
export const TrainingStatusChanged = z.object({
  jobId: JobId,
  state: TrainingState,
  /** 0..1 */
  progress: z.number().min(0).max(1),
  stage: z.string().max(100).optional(),
  epoch: z.number().int().nonnegative().optional(),
  fencingToken: FencingToken.optional(),
  version: ModelVersion.optional(),
  metrics: Metrics.optional(),
  reason: z.string().max(4000).optional(),
});
export type TrainingStatusChanged = z.infer<typeof TrainingStatusChanged>;
