-- The aggregator's ledger: one row per feedback event ever counted (the primary key makes
-- duplicate deliveries and several instances count an event once). Redis counters are a cache of it.
CREATE TABLE aggregator_models (
  model           text PRIMARY KEY,
  version         bigint NOT NULL DEFAULT 0,        -- bumped by every change; orders Redis snapshots
  last_trigger_at timestamptz,
  peak_accuracy   double precision                   -- best window accuracy since the last trigger
);

CREATE TABLE aggregator_feedback (
  event_id      uuid PRIMARY KEY,                    -- = feedback id
  seq           bigserial NOT NULL,                  -- arrival order
  model         text NOT NULL,
  kind          text NOT NULL,
  label         text,                                -- the label it teaches, if any
  correct       boolean,                             -- outcome of the prediction, if known
  sequence      bigint,                              -- feedback-ingest sequence; null from outside producers
  received_at   timestamptz NOT NULL DEFAULT now(),
  trigger_token bigint                               -- null: pending; else the fencing token of the trigger it went into training with
);
CREATE INDEX aggregator_feedback_pending ON aggregator_feedback (model, seq) WHERE trigger_token IS NULL;

CREATE TABLE aggregator_triggers (
  id            uuid PRIMARY KEY,                    -- = event id on retraining-triggers
  model         text NOT NULL,
  reason        text NOT NULL,
  status        text NOT NULL,                       -- fired | suppressed (lock held) | external (another service's trigger)
  fencing_token bigint,                              -- ours when fired; the holder's when suppressed
  details       jsonb NOT NULL,
  event         jsonb,                               -- the envelope to publish (fired only)
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX aggregator_triggers_unpublished ON aggregator_triggers (created_at) WHERE status = 'fired' AND published_at IS NULL;
-- One suppressed record per model and lock holder: a busy model does not grow a row per event.
CREATE UNIQUE INDEX aggregator_triggers_one_suppressed ON aggregator_triggers (model, fencing_token) WHERE status = 'suppressed';
