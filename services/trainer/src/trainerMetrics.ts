import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The trainer's metrics (names are used by dashboards and alerts; keep them). */
export interface TrainerMetrics {
  jobs: Counter<'model' | 'outcome'>;
  duration: Histogram<'model'>;
  progress: Gauge<'model'>;
  registryVersions: Gauge<'model' | 'status'>;
  modelLoadFailures: Counter<'model'>;
  retentionDeleted: Counter<'table'>;
  embeddings: Counter<'model' | 'result'>;
}

export const createTrainerMetrics = (registry: Registry): TrainerMetrics => ({
  jobs: new Counter({ name: 'flywheel_trainer_jobs_total', help: 'Training jobs finished, by outcome (succeeded, failed, rejected by a gate)', labelNames: ['model', 'outcome'], registers: [registry] }),
  duration: new Histogram({ name: 'flywheel_trainer_job_duration_seconds', help: 'Wall time of a training job from claim to finish', labelNames: ['model'], buckets: [5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600], registers: [registry] }),
  progress: new Gauge({ name: 'flywheel_trainer_job_progress', help: 'Progress of the running job of a model, 0..1', labelNames: ['model'], registers: [registry] }),
  registryVersions: new Gauge({ name: 'flywheel_registry_versions', help: 'Registered versions per model and status', labelNames: ['model', 'status'], registers: [registry] }),
  modelLoadFailures: new Counter({ name: 'flywheel_trainer_model_load_failures_total', help: "Jobs failed because the champion's artifacts could not be read (that model cannot retrain; the others do)", labelNames: ['model'], registers: [registry] }),
  embeddings: new Counter({ name: 'flywheel_trainer_embeddings_total', help: 'Texts a job on an encoder base needed, by result: cached (read from the embedding cache) or computed (run through the encoder)', labelNames: ['model', 'result'], registers: [registry] }),
  retentionDeleted: new Counter({ name: 'flywheel_trainer_retention_deleted_rows_total', help: 'Rows deleted by retention (finished training jobs), by table', labelNames: ['table'], registers: [registry] }),
});
