import { Counter, Gauge, type Registry } from 'prom-client';

export interface OutboxMetrics {
  published: Counter<'topic'>;
  poisoned: Counter<'topic'>;
  failures: Counter<string>;
}

const counter = <L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> =>
  (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });

/**
 * The relay's metrics, registered once per registry (a second relay on the same registry shares
 * them). The backlog gauge reads the table at scrape time; a scrape while PostgreSQL is down keeps
 * the last value rather than failing the whole /metrics page.
 */
export const createOutboxMetrics = (registry: Registry, backlog: () => Promise<number>): OutboxMetrics => {
  if (!registry.getSingleMetric('flywheel_outbox_backlog')) {
    new Gauge({
      name: 'flywheel_outbox_backlog',
      help: 'Outbox rows committed but not yet published (poisoned rows excluded)',
      registers: [registry],
      async collect() {
        const n = await backlog().catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    });
  }
  return {
    published: counter(registry, 'flywheel_outbox_published_total', 'Outbox rows published', ['topic']),
    poisoned: counter(registry, 'flywheel_outbox_poisoned_total', 'Outbox rows moved aside because the topic refused them (see last_error)', ['topic']),
    failures: counter(registry, 'flywheel_outbox_publish_failures_total', 'Relay cycles that failed and will be retried (broker or PostgreSQL unreachable)', []),
  };
};
