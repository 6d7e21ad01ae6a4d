import { z } from 'zod';
import { commaList, envBoolean, parseOrExplain, PlatformConfig, S3Config } from '@flywheel/runtime';

/** Environment of the serving process. */
export const ServingConfig = PlatformConfig.merge(S3Config).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Models loaded at start. Empty: serve every model that a model update announces. */
  SERVING_MODELS: commaList.optional(),
  /** Also pick up models announced on model-updates that SERVING_MODELS does not list (default: only when it is empty). */
  SERVING_FOLLOW_ALL: envBoolean.optional(),
  /** Consumer group for model-updates; must be unique per replica (default serving-<hostname>-<pid>). */
  SERVING_GROUP_ID: z.string().min(1).optional(),
  /** Serve the predict routes on bare node:http in front of express (same handlers; see README). */
  SERVING_FAST_PATH: envBoolean.default('true'),
  KAFKA_TOPIC_PREFIX: z.string().default(''),
  REDIS_KEY_PREFIX: z.string().default('flywheel:'),
  ONNX_INTRA_OP_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  /** A version nobody routes to stays loaded this long after the swap (then until its last request ends). */
  RELEASE_GRACE_MS: z.coerce.number().int().min(0).default(5_000),
  /** A model that fails to load is reloaded after this delay, doubling per failure up to LOAD_RETRY_MAX_MS. */
  LOAD_RETRY_BASE_MS: z.coerce.number().int().min(10).default(1_000),
  LOAD_RETRY_MAX_MS: z.coerce.number().int().min(10).default(60_000),
  PREDICTION_BUFFER: z.coerce.number().int().min(100).default(20_000),
  PREDICTION_FLUSH_MS: z.coerce.number().int().min(5).default(50),
});
export type ServingConfig = z.infer<typeof ServingConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): ServingConfig => parseOrExplain(ServingConfig, env, 'serving environment');
