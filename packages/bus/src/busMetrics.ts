import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const counter = (r: Registry, name: string, help: string, labelNames: string[]): Counter<string> =>
  (r.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [r] });
const gauge = (r: Registry, name: string, help: string, labelNames: string[]): Gauge<string> =>
  (r.getSingleMetric(name) as Gauge<string> | undefined) ?? new Gauge({ name, help, labelNames, registers: [r] });

const histogram = (r: Registry, name: string, help: string, labelNames: string[], buckets: number[]): Histogram<string> =>
  (r.getSingleMetric(name) as Histogram<string> | undefined) ?? new Histogram({ name, help, labelNames, buckets, registers: [r] });

/** The bus's metrics, registered once per registry (several consumers in one process share them). */
export const createBusMetrics = (r: Registry) => ({
  published: counter(r, 'flywheel_bus_messages_published_total', 'Messages published, by topic', ['topic']),
  publishFailures: counter(r, 'flywheel_bus_publish_failures_total', 'Publish calls that failed, by topic', ['topic']),
  processed: counter(r, 'flywheel_bus_messages_processed_total', 'Messages handled successfully', ['group', 'topic']),
  failed: counter(r, 'flywheel_bus_messages_failed_total', 'Handler failures, by whether they will be retried', ['group', 'topic', 'retriable']),
  deadLettered: counter(r, 'flywheel_bus_messages_dead_lettered_total', 'Messages sent to <topic>.dlq, by reason class', ['group', 'topic', 'reason']),
  duplicates: counter(r, 'flywheel_bus_duplicates_skipped_total', 'Messages skipped because their event id was already processed', ['group', 'topic']),
  stalls: counter(r, 'flywheel_bus_consumer_stalls_total', 'Consumers replaced because they showed no sign of life for stallAfterMs (a stuck join or handler)', ['group']),
  // Small batches make every per-batch cost (a dedupe round trip, a commit) count per message.
  batchMessages: histogram(r, 'flywheel_bus_batch_messages', 'Messages per batch handed to a consumer, by group and topic', ['group', 'topic'], [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]),
  dedupeWait: histogram(r, 'flywheel_bus_dedupe_wait_seconds', 'Time a batch waited for its dedupe lookup once validated (zero when validation took longer)', ['group', 'topic'], [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2]),
  lag: gauge(r, 'flywheel_bus_consumer_lag_messages', 'Messages behind the partition high watermark', ['group', 'topic', 'partition']),
});
export type BusMetrics = ReturnType<typeof createBusMetrics>;
