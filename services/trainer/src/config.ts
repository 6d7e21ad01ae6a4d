import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { parseOrExplain, S3Config } from '@flywheel/runtime';
import { ServiceConfig } from '@flywheel/service';
import { parseModelOptionsJson } from './modelOptions.js';

/** Environment of the trainer. Gate and data knobs have defaults an operator can override. */
export const TrainerConfig = ServiceConfig.merge(S3Config).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  /** feedback-ingest's base URL: the training examples come from its read API (it owns the feedback tables). */
  FEEDBACK_URL: z.string().url('FEEDBACK_URL must be feedback-ingest\'s base URL, e.g. http://feedback-ingest:8081'),
  /** An admin key: feedback-ingest's training-examples API is internal. */
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters'),
  /** How long each lock extension lasts; the lock is extended every third of it while a job runs. */
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3600_000),
  /** A running job whose heartbeat is older than this belongs to a dead trainer: it is failed and its upload swept. */
  JOB_STALE_AFTER_MS: z.coerce.number().int().positive().default(60_000),
  /** Unregistered version prefixes older than this are removed by the periodic sweep. */
  ORPHAN_MIN_AGE_MS: z.coerce.number().int().positive().default(3600_000),
  GATE_MIN_ACCURACY: z.coerce.number().min(0).max(1).default(0.5),
  GATE_MAX_FORGETTING: z.coerce.number().min(0).max(1).default(0.05),
  /** Candidate accuracy − champion accuracy on the same evaluation rows; negative allows a small loss. */
  GATE_MIN_IMPROVEMENT: z.coerce.number().min(-1).max(1).default(0),
  PSEUDO_LABEL_MIN_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.9),
  PSEUDO_LABEL_MAX_ROWS: z.coerce.number().int().min(0).default(5_000),
  OLD_DATA_MAX_ROWS: z.coerce.number().int().min(0).default(20_000),
  /** Share of the rows in each held-out set: validation (early stopping, temperature), gate, test. */
  HOLDOUT_FRACTION: z.coerce.number().min(0).max(0.3).default(0.1),
  HOLDOUT_MAX_ROWS: z.coerce.number().int().min(1).default(2_000),
  /** Per-model training options, JSON: {"<model>": {"mode": "lora", "rank": 16, "epochs": 3, "learningRate": 0.002, "embeddingDeltaRows": 4096, "strategy": {...}}}. */
  TRAINER_MODEL_OPTIONS: parseModelOptionsJson,
  /** SQL LIKE pattern of the models this trainer serves (default all); PG_SCHEMA already separates deployments. */
  TRAINER_MODELS: z.string().min(1).default('%'),
  /** thread: training runs in a worker thread (keeps heartbeats alive); inline: in the main thread. */
  TRAINING_ISOLATION: z.enum(['thread', 'inline']).default('thread'),
  /**
   * At most this many feedback rows per job: a seeded sample (TRAINER_SAMPLE_SEED:<model>:<watermark>)
   * recorded in the version's manifest. Bounds the trainer's memory whatever the feedback table holds.
   */
  TRAINER_MAX_ROWS: z.coerce.number().int().min(1).default(200_000),
  TRAINER_SAMPLE_SEED: z.string().min(1).max(100).default('flywheel'),
  /** Finished jobs older than this are deleted (src/jobRetention.ts); each model's newest job is kept. */
  TRAINING_JOBS_KEEP_DAYS: z.coerce.number().positive().default(90),
  /**
   * Encoder bases: embeddings are cached here by (encoder hash, text hash), one append-only file per
   * encoder, so a retrain embeds only texts it has not seen. Put it on a volume to keep it across restarts.
   */
  TRAINER_EMBEDDING_CACHE_DIR: z.string().min(1).default(join(tmpdir(), 'flywheel-embedding-cache')),
  /**
   * Most bytes that folder may hold (default 4 GiB: the k8s trainer's /tmp is an 8 GiB emptyDir).
   * Past it, other encoders' files go first, then this encoder's least recently used rows.
   */
  TRAINER_EMBEDDING_CACHE_MAX_BYTES: z.coerce.number().int().min(1 << 20).default(4 * 1024 ** 3),
  /** onnxruntime intra-op threads for encoder bases (default: onnxruntime's choice, all cores). */
  TRAINER_ENCODER_THREADS: z.coerce.number().int().min(1).max(256).optional(),
  /** Texts per encoder run while embedding a training set. */
  TRAINER_ENCODER_BATCH: z.coerce.number().int().min(1).max(4096).default(32),
  /** How often retention runs. */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
});
export type TrainerConfig = z.infer<typeof TrainerConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): TrainerConfig => parseOrExplain(TrainerConfig, env, 'trainer environment');
