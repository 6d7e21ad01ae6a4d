/** The six services, in start order: stores and consumers first, serving (which needs a champion to answer) last. */
export const SERVICE_NAMES = ['feedback-ingest', 'aggregator', 'drift-monitor', 'trainer', 'ab-router', 'serving'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/**
 * Retraining rules of the demo (feedback-ingest reports them, the aggregator enforces them): the
 * correction count fires; the performance floor is low so that the corrections that keep coming
 * while a challenger trains and is tested do not start another retraining at once.
 */
const DEMO_RULES = { RETRAIN_CORRECTION_THRESHOLD: '150', RETRAIN_ACCURACY_FLOOR: '0.3', RETRAIN_MAX_ACCURACY_DROP: '0.5', RETRAIN_MIN_WINDOW: '100' };

/**
 * Per-service settings that make the loop turn in minutes instead of hours (small thresholds, short
 * evaluation periods). Names are the services' real config variables (see each src/config.ts).
 */
export const defaultServiceEnv = (): Record<ServiceName, Record<string, string>> => ({
  'feedback-ingest': { ...DEMO_RULES, RELAY_IDLE_POLL_MS: '50' },
  aggregator: { ...DEMO_RULES, SWEEP_INTERVAL_MS: '500' },
  'drift-monitor': {
    REFERENCE_SIZE: '400', WINDOW_SIZE: '200', MIN_WINDOW: '50', MIN_LABELLED: '50', WINDOW_MAX_MS: '0', DRIFT_COOLDOWN_MS: '600000',
  },
  trainer: { GATE_MAX_FORGETTING: '0.1', JOB_STALE_AFTER_MS: '30000' },
  'ab-router': {
    EVAL_INTERVAL_MS: '2000', SPLIT_BPS: '5000', MIN_SAMPLE_PER_ARM: '150',
    HEALTH_WINDOW: '150', HEALTH_MIN_SAMPLES: '60', HEALTH_MAX_ACCURACY_DROP: '0.15',
    MAX_FORGETTING: '0.1', // the trainer's gate above: the two forgetting limits agree
  },
  serving: { RELEASE_GRACE_MS: '1000' },
});

/** What every service gets: platform addresses, its port, the admin token and the topic prefix. */
export const baseServiceEnv = (o: { platformEnv: Readonly<Record<string, string>>; port: number; adminToken: string; topicPrefix: string }): Record<string, string> => ({
  ...o.platformEnv,
  LOG_LEVEL: 'info',
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
  PORT: String(o.port),
  ADMIN_TOKEN: o.adminToken,
  TOPIC_PREFIX: o.topicPrefix,
});
