import { z } from 'zod';
import { parseOrExplain, PlatformConfig } from '@flywheel/runtime';
import { RuleEnv } from '@flywheel/contracts';

/** Environment of the aggregator. RETRAIN_* and RULES_JSON set the rules (see retrainRules.ts). */
export const AggregatorConfig = PlatformConfig.merge(RuleEnv).extend({
  /** Health and metrics. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  PG_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'PG_SCHEMA must be a lower-case SQL identifier').default('public'),
  PG_POOL_SIZE: z.coerce.number().int().positive().default(10),
  TOPIC_PREFIX: z.string().default(''),
  REDIS_PREFIX: z.string().min(1).default('flywheel'),
  /** How long a retraining lock lives if its holder (the trainer) never releases or extends it. */
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3600_000),
  /** How often unsent triggers are retried and Redis is checked for loss. */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(2_000),
  /** How often the schedule rule is checked. */
  SCHEDULE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
});
export type AggregatorConfig = z.infer<typeof AggregatorConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): AggregatorConfig => parseOrExplain(AggregatorConfig, env, 'aggregator environment');

