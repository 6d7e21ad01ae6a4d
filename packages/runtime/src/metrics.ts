import { collectDefaultMetrics, Registry } from 'prom-client';

/** One Prometheus registry per process (never the global one), with default process metrics and a service label. */
export const createMetricsRegistry = (service: string): Registry => {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'flywheel_' });
  return registry;
};
