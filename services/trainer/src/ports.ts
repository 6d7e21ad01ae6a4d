import type { Example } from '@flywheel/learning';
import type { DatasetSample } from '@flywheel/registry';

/** The fresh rows of a job, with how they were sampled when the read was capped (for the version's manifest). */
export type FreshExamples = Example[] & { sample?: DatasetSample };

/** New rows a model can learn from; feedback-ingest owns them (HttpTrainingData reads its API). */
export interface TrainingDataSource {
  /**
   * Human corrections and confirmations up to `watermark` (the ingest sequence, all when absent),
   * and high-confidence predictions without feedback as pseudo-labels.
   */
  fresh(model: string, opts: { watermark?: number; pseudoLabelMinConfidence: number; pseudoLabelMaxRows: number }): Promise<FreshExamples>;
}
