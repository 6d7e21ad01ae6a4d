import { Counter, Gauge, type Registry } from 'prom-client';

/** The drift-monitor's metrics (names fixed: dashboards and alert rules use them). */
export const createDriftMetrics = (registry: Registry) => ({
  score: new Gauge({ name: 'flywheel_drift_score', help: "Drift effect size of the last window (PSI, KS D, Cramér's V, accuracy drop)", labelNames: ['model', 'feature', 'test'], registers: [registry] }),
  level: new Gauge({ name: 'flywheel_drift_level', help: 'Drift level of the last window: 0 none, 1 warn, 2 significant', labelNames: ['model'], registers: [registry] }),
  reports: new Counter({ name: 'flywheel_drift_reports_total', help: 'Drift reports published', labelNames: ['model', 'level'], registers: [registry] }),
  snapshotFailures: new Counter({ name: 'flywheel_drift_snapshot_failures_total', help: "Champion training snapshots that could not be read or used (that model's reference comes from its predictions; the others are unaffected)", labelNames: ['model'], registers: [registry] }),
  estimatedAccuracy: new Gauge({ name: 'flywheel_drift_estimated_accuracy', help: 'Accuracy of the last window estimated from calibrated confidences (mean confidence of the predicted label)', labelNames: ['model'], registers: [registry] }),
  estimatedAccuracyBound: new Gauge({ name: 'flywheel_drift_estimated_accuracy_bound', help: '95 % interval of the estimated accuracy of the last window', labelNames: ['model', 'bound'], registers: [registry] }),
  realisedAccuracy: new Gauge({ name: 'flywheel_drift_realised_accuracy', help: 'Accuracy of the labelled predictions of the last window (absent until labels arrive)', labelNames: ['model'], registers: [registry] }),
  accuracyLabelled: new Gauge({ name: 'flywheel_drift_accuracy_labelled', help: 'Labelled predictions behind the realised accuracy of the last window', labelNames: ['model'], registers: [registry] }),
  triggers: new Counter({ name: 'flywheel_drift_triggers_total', help: 'Retraining triggers published on drift', labelNames: ['model'], registers: [registry] }),
});
export type DriftMetrics = ReturnType<typeof createDriftMetrics>;
