import { z } from 'zod';
import { parseOrExplain } from '@flywheel/runtime';
import { RuleEnv } from '@flywheel/contracts';
import { ServiceConfig } from '@flywheel/service';

/** Environment of the aggregator. RETRAIN_* and RULES_JSON set the rules (see retrainRules.ts). */
export const AggregatorConfig = ServiceConfig.merge(RuleEnv).extend({
  /** Health and metrics. */
  PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** How long a retraining lease lives if its holder (the trainer) never releases or extends it. */
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3600_000),
  /** How often Redis is checked for lost counters (rebuilt from the ledger when lost). */
  SWEEP_INTERVAL_MS: z.coerce.number().int().min(100).default(2_000),
  /** How often the schedule rule is checked. */
  SCHEDULE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(60_000),
  /**
   * Most corrections one standard client counts toward a model's correction threshold; default 40%
   * of the threshold (at least 1), so no single end user triggers a retraining alone. Trusted
   * clients (reviewers, the ADMIN_TOKEN client) are exempt.
   */
  RETRAIN_MAX_PER_CLIENT: z.coerce.number().int().positive().optional(),
  /** The outbox relay's poll period when idle (a fired trigger nudges it at once). */
  RELAY_IDLE_POLL_MS: z.coerce.number().int().min(5).default(200),
  /** Ledger rows already trained on (trigger_token set) older than this are deleted; pending rows never are. */
  LEDGER_KEEP_DAYS: z.coerce.number().positive().default(30),
  /** Trigger records (fired, suppressed, external) older than this are deleted. */
  TRIGGERS_KEEP_DAYS: z.coerce.number().positive().default(90),
  /** How often retention runs (batched deletes). */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
});
export type AggregatorConfig = z.infer<typeof AggregatorConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): AggregatorConfig => parseOrExplain(AggregatorConfig, env, 'aggregator environment');
