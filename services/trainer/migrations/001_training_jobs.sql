-- One row per retraining trigger the trainer accepted (or refused as stale).
CREATE TABLE IF NOT EXISTS training_jobs (
  id               uuid PRIMARY KEY,                  -- = event id of the retraining-triggers message
  model            text NOT NULL,
  fencing_token    bigint NOT NULL,
  state            text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'rejected')),
  progress         double precision NOT NULL DEFAULT 0,
  stage            text,
  reason           text,
  version          text,                              -- set before upload starts, so a dead job's artifacts can be swept
  metrics          jsonb,
  trigger          jsonb NOT NULL,                    -- the trigger's data (reason, watermark, requestedBy)
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  heartbeat_at     timestamptz
);
CREATE INDEX IF NOT EXISTS training_jobs_model_token ON training_jobs (model, fencing_token DESC);
CREATE INDEX IF NOT EXISTS training_jobs_queued ON training_jobs (created_at) WHERE state = 'queued';
-- One job per model at a time, enforced by the database.
CREATE UNIQUE INDEX IF NOT EXISTS training_jobs_one_running ON training_jobs (model) WHERE state = 'running';
