-- Experiments: one running per model (partial unique index), history kept.
CREATE TABLE IF NOT EXISTS ab_experiments (
  id uuid PRIMARY KEY,
  model text NOT NULL,
  champion_version text NOT NULL,
  challenger_version text NOT NULL,
  split_bps integer NOT NULL CHECK (split_bps BETWEEN 0 AND 10000),
  salt text NOT NULL,
  method text NOT NULL CHECK (method IN ('sequential', 'fixed')),
  config jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'promoted', 'rejected', 'halted', 'stopped')),
  started_at timestamptz NOT NULL DEFAULT now(),
  decided_at timestamptz,
  decision jsonb
);
CREATE UNIQUE INDEX IF NOT EXISTS ab_experiments_one_running ON ab_experiments (model) WHERE state = 'running';

-- Every prediction of a watched model, joined with its outcome when feedback arrives.
CREATE TABLE IF NOT EXISTS ab_outcomes (
  prediction_id uuid PRIMARY KEY,
  model text NOT NULL,
  model_version text NOT NULL,
  experiment_id uuid,
  variant text NOT NULL,
  subject_id text,
  correct boolean,
  predicted_at timestamptz NOT NULL,
  labelled_at timestamptz
);
CREATE INDEX IF NOT EXISTS ab_outcomes_experiment ON ab_outcomes (experiment_id, variant) WHERE experiment_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ab_outcomes_health ON ab_outcomes (model, model_version, labelled_at DESC) WHERE correct IS NOT NULL;

-- Feedback that arrived before its prediction (out of order): applied when the prediction lands.
CREATE TABLE IF NOT EXISTS ab_pending_outcomes (
  prediction_id uuid PRIMARY KEY,
  correct boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- The routing table per model; revision only ever rises.
CREATE TABLE IF NOT EXISTS ab_routing (
  model text PRIMARY KEY,
  revision integer NOT NULL,
  routing jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The champion the health watch guards, with its accuracy baseline.
CREATE TABLE IF NOT EXISTS ab_champions (
  model text PRIMARY KEY,
  version text NOT NULL,
  since timestamptz NOT NULL DEFAULT now(),
  baseline_accuracy double precision,
  baseline_n integer
);
