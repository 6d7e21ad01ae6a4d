import { Counter, type Registry } from 'prom-client';

/** feedback-ingest's own metrics (the outbox relay registers the outbox ones). */
export const createIngestMetrics = (registry: Registry) => ({
  accepted: new Counter({ name: 'flywheel_ingest_feedback_accepted_total', help: 'Feedback items accepted, by model and kind', labelNames: ['model', 'kind'] as const, registers: [registry] }),
  retentionDeleted: new Counter({ name: 'flywheel_ingest_retention_deleted_rows_total', help: 'Rows deleted by retention, by table', labelNames: ['table'] as const, registers: [registry] }),
  replays: new Counter({ name: 'flywheel_ingest_idempotent_replays_total', help: 'Requests answered from an earlier request with the same Idempotency-Key', registers: [registry] }),
});
export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
