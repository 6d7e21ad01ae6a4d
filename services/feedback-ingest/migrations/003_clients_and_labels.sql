-- Who sent each feedback item (the authenticated API client and its trust level), and whether it
-- proposes a label its model does not know yet. Older rows predate API keys: client NULL.
ALTER TABLE feedback
  ADD COLUMN client         text,
  ADD COLUMN client_trust   text CHECK (client_trust IN ('trusted', 'standard')),
  ADD COLUMN proposed_label boolean NOT NULL DEFAULT false;   -- true until its label is accepted: not trainable, not counted

-- Label governance per model: a label reported for a model whose champion does not know it. It
-- becomes part of the model's label set when accepted (by an admin, or by the trusted-reporter policy).
-- The aggregator reads accepted_at (read-only) to count the items once their label is accepted.
CREATE TABLE proposed_labels (
  model        text NOT NULL,
  label        text NOT NULL,
  first_seen   timestamptz NOT NULL DEFAULT now(),
  last_seen    timestamptz NOT NULL DEFAULT now(),
  reports      bigint NOT NULL DEFAULT 0,
  accepted_at  timestamptz,                             -- NULL: still proposed
  accepted_by  text,                                    -- the client that accepted it, or 'policy:trusted-reporters'
  PRIMARY KEY (model, label)
);

-- Each distinct client that reported a proposed label (the trusted-reporter policy counts these).
CREATE TABLE proposed_label_reporters (
  model      text NOT NULL,
  label      text NOT NULL,
  client     text NOT NULL,
  trust      text NOT NULL CHECK (trust IN ('trusted', 'standard')),
  first_seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, label, client),
  FOREIGN KEY (model, label) REFERENCES proposed_labels (model, label)
);

CREATE INDEX feedback_proposed ON feedback (model, correct_label) WHERE proposed_label;
