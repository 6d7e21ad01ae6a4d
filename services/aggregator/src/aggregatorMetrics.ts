import { Counter, Gauge, type Registry } from 'prom-client';

/** The aggregator's metrics, declared once (the outbox relay registers the outbox ones). */
export const createAggregatorMetrics = (registry: Registry) => ({
  pending: new Gauge({ name: 'flywheel_aggregator_pending_corrections', help: 'Corrections counted since the last trigger', labelNames: ['model'] as const, registers: [registry] }),
  threshold: new Gauge({ name: 'flywheel_aggregator_correction_threshold', help: 'Pending corrections that start a retraining of the model (its correction rule)', labelNames: ['model'] as const, registers: [registry] }),
  accuracy: new Gauge({ name: 'flywheel_aggregator_window_accuracy', help: 'Observed accuracy over the sliding window of outcomes', labelNames: ['model'] as const, registers: [registry] }),
  triggers: new Counter({ name: 'flywheel_aggregator_triggers_total', help: 'Retraining triggers fired', labelNames: ['model', 'reason'] as const, registers: [registry] }),
  suppressed: new Counter({ name: 'flywheel_aggregator_triggers_suppressed_total', help: 'Rule firings recorded but not published because the model is already training', labelNames: ['model'] as const, registers: [registry] }),
  events: new Counter({ name: 'flywheel_aggregator_feedback_events_total', help: 'Feedback events seen, new or duplicate', labelNames: ['result'] as const, registers: [registry] }),
  retentionDeleted: new Counter({ name: 'flywheel_aggregator_retention_deleted_rows_total', help: 'Rows deleted by retention, by table', labelNames: ['table'] as const, registers: [registry] }),
  rebuilds: new Counter({ name: 'flywheel_aggregator_counter_rebuilds_total', help: 'Times the Redis counters were rebuilt from PostgreSQL', registers: [registry] }),
});
export type AggregatorMetrics = ReturnType<typeof createAggregatorMetrics>;
