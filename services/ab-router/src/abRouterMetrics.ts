import { Counter, Gauge, type Registry } from 'prom-client';

/** The ab-router's metrics (names fixed: dashboards and alert rules use them). */
export const createAbRouterMetrics = (registry: Registry) => ({
  experiments: new Gauge({ name: 'flywheel_abrouter_experiments', help: 'Experiments by model and state', labelNames: ['model', 'state'], registers: [registry] }),
  armSamples: new Gauge({ name: 'flywheel_abrouter_arm_samples', help: 'Labelled outcomes per arm of the running experiment', labelNames: ['model', 'variant'], registers: [registry] }),
  armAccuracy: new Gauge({ name: 'flywheel_abrouter_arm_accuracy', help: 'Observed accuracy per arm of the running experiment', labelNames: ['model', 'variant'], registers: [registry] }),
  decisions: new Counter({ name: 'flywheel_abrouter_decisions_total', help: 'Experiment decisions (promote, reject, halt, stop)', labelNames: ['model', 'decision'], registers: [registry] }),
  rollbacks: new Counter({ name: 'flywheel_abrouter_rollbacks_total', help: 'Champion rollbacks', labelNames: ['model', 'automatic'], registers: [registry] }),
  championAccuracy: new Gauge({ name: 'flywheel_abrouter_champion_accuracy', help: "Champion accuracy over the health window", labelNames: ['model'], registers: [registry] }),
});
export type AbRouterMetrics = ReturnType<typeof createAbRouterMetrics>;
