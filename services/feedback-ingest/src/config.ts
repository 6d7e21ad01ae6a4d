import { z } from 'zod';
import { commaList, parseOrExplain, PlatformConfig } from '@flywheel/runtime';
import { RuleEnv } from '@flywheel/contracts';

/** Environment of feedback-ingest. Rule variables (RETRAIN_*) match the aggregator's, so status shows the rules in force. */
export const IngestConfig = PlatformConfig.merge(RuleEnv).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters; admin routes refuse every caller without it'),
  /** When set, feedback routes require it in X-Api-Key (or Bearer). */
  API_KEY: z.string().min(16).optional(),
  /** When set, feedback for any other model is refused with 404. */
  KNOWN_MODELS: commaList.optional(),
  BODY_LIMIT: z.string().default('4mb'),
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'PG_SCHEMA must be a lower-case SQL identifier').default('public'),
  PG_POOL_SIZE: z.coerce.number().int().positive().default(10),
  TOPIC_PREFIX: z.string().default(''),
  REDIS_PREFIX: z.string().min(1).default('flywheel'),
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3600_000),
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
  RELAY_IDLE_POLL_MS: z.coerce.number().int().min(5).default(200),
});
export type IngestConfig = z.infer<typeof IngestConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): IngestConfig => parseOrExplain(IngestConfig, env, 'feedback-ingest environment');

