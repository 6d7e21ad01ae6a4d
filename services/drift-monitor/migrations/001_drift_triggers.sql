-- Retraining triggers the drift-monitor fired: written in the same transaction as the trigger's
-- outbox row (flywheel_outbox), so a trigger is recorded if and only if it will be published.
-- The per-model cooldown is read from here.
CREATE TABLE drift_triggers (
  id            bigserial PRIMARY KEY,
  model         text NOT NULL,
  model_version text NOT NULL,
  fencing_token bigint NOT NULL,          -- the retraining lease's token the trigger carries
  event_id      text NOT NULL UNIQUE,     -- the retraining-triggers event's id
  details       jsonb NOT NULL,           -- the significant measurements
  triggered_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drift_triggers_model_time ON drift_triggers (model, triggered_at DESC);
