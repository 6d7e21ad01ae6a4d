import { z } from 'zod';
import { commaList, envBoolean, parseOrExplain, S3Config } from '@flywheel/runtime';
import { ServiceConfig } from '@flywheel/service';

/** Environment of the serving process: the platform's (ServiceConfig, S3) plus serving's own. */
export const ServingConfig = ServiceConfig.merge(S3Config).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  PG_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  /** The bootstrap credential: the built-in `admin` client (every scope). Other callers use keys from `flywheel keys create`. */
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters; it is the bootstrap credential of every service'),
  /** Predict requests one client may send per minute (shared by every replica through Redis); over it, 429 with Retry-After. */
  PREDICT_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(60_000),
  /** How often the API keys are reloaded: a created or revoked key takes effect within this. */
  KEY_REFRESH_MS: z.coerce.number().int().min(100).default(5_000),
  /** Models loaded at start. Empty: serve every model that a model update announces. */
  SERVING_MODELS: commaList.optional(),
  /** Also pick up models announced on model-updates that SERVING_MODELS does not list (default: only when it is empty). */
  SERVING_FOLLOW_ALL: envBoolean.optional(),
  /** Consumer group for model-updates; must be unique per replica (default serving-<hostname>-<pid>). */
  SERVING_GROUP_ID: z.string().min(1).optional(),
  /** Serve the predict routes on bare node:http in front of express (same handlers; see README). */
  SERVING_FAST_PATH: envBoolean.default('true'),
  ONNX_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** onnxruntime execution providers for encoder models, in order (e.g. cuda,cpu); one that is not usable here falls back to cpu. */
  ONNX_EXECUTION_PROVIDERS: commaList.default('cpu'),
  /** Concurrent requests to an encoder model wait at most this long to run together in one batch. */
  MICRO_BATCH_MAX_WAIT_MS: z.coerce.number().min(0).max(50).default(2),
  /** Texts per micro-batch at most; 1 turns micro-batching off. */
  MICRO_BATCH_MAX_ITEMS: z.coerce.number().int().min(1).max(4_096).default(64),
  /** A version nobody routes to stays loaded this long after the swap (then until its last request ends). */
  RELEASE_GRACE_MS: z.coerce.number().int().min(0).default(5_000),
  /** A model that fails to load is reloaded after this delay, doubling per failure up to LOAD_RETRY_MAX_MS. */
  LOAD_RETRY_BASE_MS: z.coerce.number().int().min(10).default(1_000),
  LOAD_RETRY_MAX_MS: z.coerce.number().int().min(10).default(60_000),
  PREDICTION_BUFFER: z.coerce.number().int().min(100).default(20_000),
  PREDICTION_FLUSH_MS: z.coerce.number().int().min(5).default(50),
  /** Rows waiting for a shadow version's scoring at most; more are dropped and counted (answers never wait). */
  SHADOW_QUEUE_ROWS: z.coerce.number().int().min(1).default(1_000),
  /** A shadow inference slower than this is given up (its answers are logged without the shadow's). */
  SHADOW_TIMEOUT_MS: z.coerce.number().int().min(1).default(2_000),
});
export type ServingConfig = z.infer<typeof ServingConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): ServingConfig => parseOrExplain(ServingConfig, env, 'serving environment');
