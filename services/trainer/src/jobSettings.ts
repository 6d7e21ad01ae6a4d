import type { JobSettings } from './runJob.js';
import type { TrainerConfig } from './config.js';

/** The job knobs from the parsed config (main.ts; tests build their own JobSettings). */
export const jobSettings = (c: TrainerConfig): JobSettings => ({
  gates: { minAccuracy: c.GATE_MIN_ACCURACY, maxForgetting: c.GATE_MAX_FORGETTING, minImprovement: c.GATE_MIN_IMPROVEMENT },
  lockTtlMs: c.RETRAIN_LOCK_TTL_MS,
  // Several renewals inside one staleness period, so a live job is never mistaken for a dead one.
  keepAliveMs: Math.min(10_000, Math.floor(c.JOB_STALE_AFTER_MS / 3)),
  pseudoLabelMinConfidence: c.PSEUDO_LABEL_MIN_CONFIDENCE,
  pseudoLabelMaxRows: c.PSEUDO_LABEL_MAX_ROWS,
  oldMaxRows: c.OLD_DATA_MAX_ROWS,
  holdoutFraction: c.HOLDOUT_FRACTION,
  holdoutMaxRows: c.HOLDOUT_MAX_ROWS,
  trainOptions: {},
  modelOptions: c.TRAINER_MODEL_OPTIONS,
  embeddings: { cacheDir: c.TRAINER_EMBEDDING_CACHE_DIR, cacheMaxBytes: c.TRAINER_EMBEDDING_CACHE_MAX_BYTES, batchSize: c.TRAINER_ENCODER_BATCH, ...(c.TRAINER_ENCODER_THREADS !== undefined ? { threads: c.TRAINER_ENCODER_THREADS } : {}) },
});
