import { Counter, Gauge, type Registry } from 'prom-client';

/** The ab-router's metrics (names fixed: dashboards and alert rules use them). */
export const createAbRouterMetrics = (registry: Registry) => ({
  experiments: new Gauge({ name: 'flywheel_abrouter_experiments', help: 'Experiments by model and state', labelNames: ['model', 'state'], registers: [registry] }),
  armSamples: new Gauge({ name: 'flywheel_abrouter_arm_samples', help: 'Labelled outcomes per arm of the running experiment', labelNames: ['model', 'variant'], registers: [registry] }),
  armAccuracy: new Gauge({ name: 'flywheel_abrouter_arm_accuracy', help: 'Observed accuracy per arm of the running experiment', labelNames: ['model', 'variant'], registers: [registry] }),
  decisions: new Counter({ name: 'flywheel_abrouter_decisions_total', help: 'Experiment decisions (promote, reject, halt, stop)', labelNames: ['model', 'decision'], registers: [registry] }),
  rollbacks: new Counter({ name: 'flywheel_abrouter_rollbacks_total', help: 'Champion rollbacks', labelNames: ['model', 'automatic'], registers: [registry] }),
  championAccuracy: new Gauge({ name: 'flywheel_abrouter_champion_accuracy', help: "Champion accuracy over the health window", labelNames: ['model'], registers: [registry] }),
  shadowAgreement: new Gauge({ name: 'flywheel_abrouter_shadow_agreement_ratio', help: 'Share of shadow-scored requests where challenger and champion gave the same label (running shadow test)', labelNames: ['model'], registers: [registry] }),
  shadowPairs: new Gauge({ name: 'flywheel_abrouter_shadow_pairs', help: 'Shadow test counts: scored requests and labelled pairs by McNemar cell', labelNames: ['model', 'kind'], registers: [registry] }),
  leader: new Gauge({ name: 'flywheel_abrouter_leader', help: 'Whether this instance leads (1) and so runs decisions, or follows (0); exactly one instance per schema should read 1', registers: [registry] }),
});
export type AbRouterMetrics = ReturnType<typeof createAbRouterMetrics>;

/** The retention job's metric (src/outcomeRetention.ts), apart so the job can be wired on its own. */
export const createRetentionMetrics = (registry: Registry) => ({
  deleted: new Counter({ name: 'flywheel_abrouter_retention_deleted_rows_total', help: 'Rows deleted by retention, by table', labelNames: ['table'] as const, registers: [registry] }),
});
export type RetentionMetrics = ReturnType<typeof createRetentionMetrics>;
