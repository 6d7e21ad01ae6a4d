import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The serving metrics; names are fixed because the dashboards and alerts use them. */
export const createServingMetrics = (registry: Registry) => ({
  requestDuration: new Histogram({
    name: 'flywheel_serving_request_duration_seconds',
    help: 'Prediction handling time per model and variant (one observation per HTTP request)',
    labelNames: ['model', 'variant'] as const,
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  }),
  requests: new Counter({
    name: 'flywheel_serving_requests_total',
    help: 'Prediction requests per model and variant',
    labelNames: ['model', 'variant'] as const,
    registers: [registry],
  }),
  errors: new Counter({
    name: 'flywheel_serving_errors_total',
    help: 'Failed prediction requests per model and error code',
    labelNames: ['model', 'code'] as const,
    registers: [registry],
  }),
  predictions: new Counter({
    name: 'flywheel_serving_predictions_total',
    help: 'Predicted rows per model, variant and label',
    labelNames: ['model', 'variant', 'label'] as const,
    registers: [registry],
  }),
  loadedVersions: new Gauge({
    name: 'flywheel_serving_loaded_versions',
    help: '1 for each version loaded in memory, by role (champion, challenger, standby)',
    labelNames: ['model', 'version', 'role'] as const,
    registers: [registry],
  }),
  swapDuration: new Histogram({
    name: 'flywheel_serving_swap_duration_seconds',
    help: 'From a model update received to the new state serving (download, load and swap)',
    labelNames: ['model', 'action'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  swapFailures: new Counter({
    name: 'flywheel_serving_swap_failures_total',
    help: 'Model updates that could not be applied (the previous state keeps serving)',
    labelNames: ['model', 'action'] as const,
    registers: [registry],
  }),
  modelLoadFailures: new Counter({
    name: 'flywheel_serving_model_load_failures_total',
    help: 'Failed attempts to load a model at start or on retry (the model answers 503, the others serve)',
    labelNames: ['model'] as const,
    registers: [registry],
  }),
  predictionsDropped: new Counter({
    name: 'flywheel_serving_predictions_dropped_total',
    help: 'Prediction events lost from the log: buffer full (Kafka slow) or publish failed',
    labelNames: ['reason'] as const,
    registers: [registry],
  }),
  shadowDropped: new Counter({
    name: 'flywheel_serving_shadow_dropped_total',
    help: 'Requests not scored by the shadow version: queue full (load), failed or timed out (answers are unaffected)',
    labelNames: ['model', 'reason'] as const,
    registers: [registry],
  }),
  shadowScored: new Counter({
    name: 'flywheel_serving_shadow_scored_total',
    help: 'Requests scored by the shadow version off the request path',
    labelNames: ['model'] as const,
    registers: [registry],
  }),
  encoderBatchRows: new Histogram({
    name: 'flywheel_serving_encoder_batch_rows',
    help: 'Texts per encoder run of an encoder or imported model (micro-batching merges concurrent requests)',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  }),
  shadowQueued: new Gauge({
    name: 'flywheel_serving_shadow_queued',
    help: 'Rows waiting in the shadow queue',
    registers: [registry],
  }),
  predictionsBuffered: new Gauge({
    name: 'flywheel_serving_predictions_buffered',
    help: 'Prediction events waiting to be published',
    registers: [registry],
  }),
});

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
