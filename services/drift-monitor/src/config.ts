import { z } from 'zod';
import { parseOrExplain, S3Config } from '@flywheel/runtime';
import { ServiceConfig } from '@flywheel/service';

// PostgreSQL (registry: which version is champion; drift_triggers and the outbox) and S3 (its
// training snapshot) give each version its reference. REDIS_PREFIX names the retraining lease.
export const DriftMonitorConfig = ServiceConfig.merge(S3Config).extend({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8083),
  /** Pool for the registry reads, trigger transactions and the outbox relay's leader connection. */
  PG_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(4),
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters'),
  /** First predictions of a watched version that form its confidence/accuracy reference (all of it without a snapshot). */
  REFERENCE_SIZE: z.coerce.number().int().min(50).default(1_000),
  /**
   * Comma-separated subjectId prefixes of predictions that are not production traffic (evaluation
   * runs through /predict); they never enter a reference or a window. Empty string: none.
   */
  IGNORE_SUBJECT_PREFIXES: z.string().default('eval-').transform((x) => x.split(',').map((y) => y.trim()).filter((y) => y.length > 0)),
  /** Training-snapshot rows used at most for a reference (spread evenly over the snapshot). */
  MAX_SNAPSHOT_ROWS: z.coerce.number().int().min(100).default(50_000),
  WINDOW_SIZE: z.coerce.number().int().min(50).default(1_000),
  /** A window also closes after this long if it has MIN_WINDOW predictions (0: by count only). */
  WINDOW_MAX_MS: z.coerce.number().int().min(0).default(3_600_000),
  MIN_WINDOW: z.coerce.number().int().min(20).default(200),
  HASH_BUCKETS: z.coerce.number().int().min(4).max(4096).default(32),
  MIN_LABELLED: z.coerce.number().int().min(10).default(100),
  /** Concept drift: accuracy drop (absolute) that is significant; default 5 points. */
  ACCURACY_DROP: z.coerce.number().gt(0).lt(1).default(0.05),
  PSI_WARN: z.coerce.number().positive().default(0.1),
  PSI_SIGNIFICANT: z.coerce.number().positive().default(0.25),
  /** KS D that is significant for text length / OOV rate against a training snapshot (training data is never a sample of traffic). */
  SNAPSHOT_KS: z.coerce.number().gt(0).lt(1).default(0.25),
  /**
   * Text drift: false alarms per window over all text statistics, whose thresholds are calibrated on
   * each version's reference (0: the fixed PSI/KS thresholds instead).
   */
  TEXT_DRIFT_ALPHA: z.coerce.number().min(0).lt(1).default(0.05),
  DRIFT_COOLDOWN_MS: z.coerce.number().int().min(0).default(6 * 3_600_000),
  /** Same TTL as the aggregator's and the manual trigger's retraining lease. */
  RETRAIN_LOCK_TTL_MS: z.coerce.number().int().positive().default(2 * 3_600_000),
  /** Weekly reports: the ab-router (experiments) and feedback-ingest (labels waiting), read with ADMIN_TOKEN; unset, the report says the section is not configured. */
  ABROUTER_URL: z.string().url('ABROUTER_URL is the ab-router\'s base URL, e.g. http://ab-router:8085').optional(),
  FEEDBACK_URL: z.string().url('FEEDBACK_URL is feedback-ingest\'s base URL, e.g. http://feedback-ingest:8081').optional(),
  /** How often to check whether last ISO week's reports exist (made once per model and week); 0: no scheduled reports. */
  REPORT_CHECK_INTERVAL_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** Windows and feedback verdicts kept for reports. */
  REPORT_KEEP_DAYS: z.coerce.number().int().min(8).default(92),
});
export type DriftMonitorConfig = z.infer<typeof DriftMonitorConfig>;

/** Parses the drift-monitor's environment; the error names every variable to fix. */
export const loadConfig = (env: NodeJS.ProcessEnv): DriftMonitorConfig => parseOrExplain(DriftMonitorConfig, env, 'drift-monitor environment');

/** The monitor's settings from its config. */
export const driftSettings = (c: DriftMonitorConfig) => ({
  referenceSize: c.REFERENCE_SIZE, windowSize: c.WINDOW_SIZE, windowMaxMs: c.WINDOW_MAX_MS, minWindow: c.MIN_WINDOW,
  buckets: c.HASH_BUCKETS, maxSnapshotRows: c.MAX_SNAPSHOT_ROWS, ignoreSubjectPrefixes: c.IGNORE_SUBJECT_PREFIXES, minLabelled: c.MIN_LABELLED,
  thresholds: { accuracyDrop: c.ACCURACY_DROP, psiWarn: c.PSI_WARN, psiSignificant: c.PSI_SIGNIFICANT },
  snapshotThresholds: { ksStatistic: c.SNAPSHOT_KS },
  textFalseAlarmRate: c.TEXT_DRIFT_ALPHA,
});
