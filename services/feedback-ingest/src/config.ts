import { z } from 'zod';
import { parseOrExplain } from '@flywheel/runtime';
import { RuleEnv } from '@flywheel/contracts';
import { ServiceConfig } from '@flywheel/service';

const jsonOrUndefined = (s: string): unknown => {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
};

/** Environment of feedback-ingest. Rule variables (RETRAIN_*) match the aggregator's, so status shows the rules in force. */
export const IngestConfig = ServiceConfig.merge(RuleEnv).extend({
  PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** The bootstrap credential: authenticates as the built-in `admin` client (every scope, trusted). */
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters; it is the bootstrap admin credential'),
  /** Feedback requests (single or batch) per client per minute, shared by every replica (Redis). */
  FEEDBACK_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(60_000),
  /**
   * Trusted-reporter policy: a proposed label is accepted once this many distinct `trusted` clients
   * reported it. 0 (the default) turns it off: only an admin accepts labels.
   */
  LABEL_AUTO_ACCEPT_TRUSTED_REPORTERS: z.coerce.number().int().min(0).default(0),
  /** Per-model overrides of the policy, e.g. {"support-urgency":3}. */
  LABEL_AUTO_ACCEPT_JSON: z.string().default('{}').transform(jsonOrUndefined).pipe(z.record(z.string(), z.number().int().min(0), {
    invalid_type_error: 'LABEL_AUTO_ACCEPT_JSON must be a JSON object of model → number of trusted reporters, e.g. {"support-urgency":3}',
  })),
  /** How often the model catalog (models and their champion's labels) is reloaded from the registry. */
  MODEL_CATALOG_REFRESH_MS: z.coerce.number().int().min(100).default(5_000),
  /** How often API keys are reloaded: a created or revoked key takes effect within this. */
  KEYRING_REFRESH_MS: z.coerce.number().int().min(100).default(5_000),
  /** Largest request body; batches are also capped by item count (MAX_BATCH_ITEMS). */
  BODY_LIMIT: z.string().default('1mb'),
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3600_000),
  /**
   * Rows per relay batch. Small, because a batch is read, checked and encoded on the API's event
   * loop: at 500 a batch held it long enough to push the API's p99 past 25 ms while a backlog drained.
   */
  RELAY_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(100),
  /** Single-item submissions in flight at once are written as one statement of at most this many rows (1: one statement each). */
  INSERT_MERGE_MAX_ITEMS: z.coerce.number().int().min(1).max(1000).default(200),
  /** Merged statements running at once; keep it under PG_POOL_SIZE (the relay and reads need connections too). */
  INSERT_MERGE_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(4),
  RELAY_IDLE_POLL_MS: z.coerce.number().int().min(5).default(200),
  /** Logged predictions older than this are deleted (src/retention.ts): feedback naming one is no longer enriched from the log. */
  PREDICTIONS_KEEP_DAYS: z.coerce.number().positive().default(30),
  /** Idempotency keys older than this are deleted: a retry after it is a new request. */
  IDEMPOTENCY_KEEP_HOURS: z.coerce.number().min(1).default(48),
  /** How often retention runs (batched deletes; see @flywheel/postgres deleteInBatches). */
  RETENTION_INTERVAL_MS: z.coerce.number().int().min(1000).default(3_600_000),
});
export type IngestConfig = z.infer<typeof IngestConfig>;

/** Parses the environment once; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): IngestConfig => parseOrExplain(IngestConfig, env, 'feedback-ingest environment');

/** K of the trusted-reporter policy for a model (0: off). */
export const trustedReportersFor = (config: Pick<IngestConfig, 'LABEL_AUTO_ACCEPT_TRUSTED_REPORTERS' | 'LABEL_AUTO_ACCEPT_JSON'>) => (model: string): number =>
  config.LABEL_AUTO_ACCEPT_JSON[model] ?? config.LABEL_AUTO_ACCEPT_TRUSTED_REPORTERS;
