-- The transactional outbox (@flywheel/postgres outbox/). A service writes a row in the same
-- transaction as the state change it announces; its relay publishes unpublished rows in id order.
CREATE TABLE flywheel_outbox (
  id           bigserial PRIMARY KEY,
  event_id     text NOT NULL UNIQUE,                -- the envelope's id: enqueuing the same event twice writes one row
  topic        text NOT NULL,                       -- topic key of @flywheel/contracts (feedback, retrainingTriggers, ...)
  key          text NOT NULL,                       -- Kafka key (the envelope subject unless given)
  event        jsonb NOT NULL,                      -- the whole envelope
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts     int NOT NULL DEFAULT 0,              -- failed publish attempts
  last_error   text,                                -- why the last attempt failed, or why the row was poisoned
  poisoned_at  timestamptz                          -- set when the topic's schema refused the event: moved aside, never retried
);
-- What the relay reads: the unpublished, unpoisoned rows, in id order.
CREATE INDEX flywheel_outbox_pending ON flywheel_outbox (id) WHERE published_at IS NULL AND poisoned_at IS NULL;
-- What an operator reads: rows moved aside.
CREATE INDEX flywheel_outbox_poisoned ON flywheel_outbox (poisoned_at) WHERE poisoned_at IS NOT NULL;
