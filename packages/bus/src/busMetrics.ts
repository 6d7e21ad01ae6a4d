import { Counter, Gauge, type Registry } from 'prom-client';

const counter = (r: Registry, name: string, help: string, labelNames: string[]): Counter<string> =>
  (r.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [r] });
const gauge = (r: Registry, name: string, help: string, labelNames: string[]): Gauge<string> =>
  (r.getSingleMetric(name) as Gauge<string> | undefined) ?? new Gauge({ name, help, labelNames, registers: [r] });

/** The bus's metrics, registered once per registry (several consumers in one process share them). */
export const createBusMetrics = (r: Registry) => ({
  published: counter(r, 'flywheel_bus_messages_published_total', 'Messages published, by topic', ['topic']),
  publishFailures: counter(r, 'flywheel_bus_publish_failures_total', 'Publish calls that failed, by topic', ['topic']),
  processed: counter(r, 'flywheel_bus_messages_processed_total', 'Messages handled successfully', ['group', 'topic']),
  failed: counter(r, 'flywheel_bus_messages_failed_total', 'Handler failures, by whether they will be retried', ['group', 'topic', 'retriable']),
  deadLettered: counter(r, 'flywheel_bus_messages_dead_lettered_total', 'Messages sent to <topic>.dlq, by reason class', ['group', 'topic', 'reason']),
  duplicates: counter(r, 'flywheel_bus_duplicates_skipped_total', 'Messages skipped because their event id was already processed', ['group', 'topic']),
  stalls: counter(r, 'flywheel_bus_consumer_stalls_total', 'Consumers replaced because they showed no sign of life for stallAfterMs (a stuck join or handler)', ['group']),
  lag: gauge(r, 'flywheel_bus_consumer_lag_messages', 'Messages behind the partition high watermark', ['group', 'topic', 'partition']),
});
export type BusMetrics = ReturnType<typeof createBusMetrics>;
