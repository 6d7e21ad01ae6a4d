-- Feedback as accepted, in ingest order. The trainer reads it (read-only); see README.md.
CREATE TABLE feedback (
  id              uuid PRIMARY KEY,                 -- = event id of its feedback-events message
  sequence        bigserial NOT NULL UNIQUE,        -- ingest position; triggers carry it as feedbackWatermark
  model           text NOT NULL,
  prediction_id   uuid,
  model_version   text,
  variant         text,
  text            text NOT NULL,
  predicted_label text,
  correct_label   text,
  kind            text NOT NULL,                    -- misclassification | confirmation | thumbs_up | thumbs_down
  reporter        text,
  metadata        jsonb,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_model_sequence ON feedback (model, sequence);
CREATE INDEX feedback_prediction ON feedback (prediction_id) WHERE prediction_id IS NOT NULL;

-- Transactional outbox: written in the same transaction as what it announces; the relay publishes it in id order.
CREATE TABLE feedback_ingest_outbox (
  id           bigserial PRIMARY KEY,
  event_id     uuid NOT NULL UNIQUE,
  topic        text NOT NULL,                       -- topic key of @flywheel/contracts: feedback | retrainingTriggers
  key          text NOT NULL,                       -- Kafka key (model name)
  event        jsonb NOT NULL,                      -- the whole envelope
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX feedback_ingest_outbox_unpublished ON feedback_ingest_outbox (id) WHERE published_at IS NULL;

CREATE TABLE feedback_ingest_idempotency (
  key        text PRIMARY KEY,                      -- <route>:<Idempotency-Key>
  body_hash  text NOT NULL,
  status     int NOT NULL,
  response   jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Every prediction serving logged (from the predictions topic). The trainer reads it for pseudo-labels.
CREATE TABLE predictions (
  prediction_id uuid PRIMARY KEY,
  model         text NOT NULL,
  model_version text NOT NULL,
  variant       text NOT NULL,
  subject_id    text,
  experiment_id uuid,
  text          text NOT NULL,
  label         text NOT NULL,
  confidence    double precision NOT NULL,
  top_k         jsonb,
  created_at    timestamptz NOT NULL                -- the event's time
);
CREATE INDEX predictions_model_created ON predictions (model, created_at);
CREATE INDEX predictions_model_confidence ON predictions (model, confidence);

-- What feedback-ingest knows about each model's training, projected from retraining-triggers, training-status and model-updates.
CREATE TABLE feedback_ingest_training (
  model                  text PRIMARY KEY,
  last_trained_at        timestamptz,
  last_trained_version   text,
  last_trigger_id        uuid,
  last_trigger_at        timestamptz,
  last_trigger_reason    text,
  last_trigger_token     bigint,
  last_trigger_watermark bigint,
  job_id                 uuid,
  job_state              text,
  job_progress           double precision,
  job_stage              text,
  job_updated_at         timestamptz
);
