-- Retention (src/retention.ts) deletes by age: each batch finds its rows through these indexes
-- instead of scanning the table. predictions_model_created leads with model, so it cannot serve.
CREATE INDEX IF NOT EXISTS predictions_created ON predictions (created_at);
CREATE INDEX IF NOT EXISTS feedback_ingest_idempotency_created ON feedback_ingest_idempotency (created_at);
