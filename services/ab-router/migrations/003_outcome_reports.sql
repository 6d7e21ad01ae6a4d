-- Outcomes that cannot be forged. Each prediction remembers the API client it answered
-- (ab_outcomes.client); every outcome report is kept (ab_outcome_reports, for audit), and a
-- prediction's result (ab_outcomes.correct) is set once, from the first report that counts: one from
-- the client that received the prediction, or from a trusted client. Later reports change nothing.
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS client text;
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS outcome_report_id bigint;

CREATE TABLE IF NOT EXISTS ab_outcome_reports (
  id bigserial PRIMARY KEY,
  -- The feedback event's id: a redelivered event is one report. NULL for reports moved from ab_pending_outcomes.
  feedback_id uuid UNIQUE,
  prediction_id uuid NOT NULL,
  -- Who reported it (NULL: unknown, counts only if trusted) and whether that client is trusted.
  client text,
  trusted boolean NOT NULL,
  correct boolean NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ab_outcome_reports_prediction ON ab_outcome_reports (prediction_id, id);

-- Reports waiting for their prediction now live in ab_outcome_reports too. Those recorded before
-- clients existed say nothing of who sent them: kept for audit, never counted. ab_pending_outcomes
-- is no longer read (left in place so a replica still on the old version fails nothing mid-rollout).
INSERT INTO ab_outcome_reports (prediction_id, client, trusted, correct, received_at)
  SELECT prediction_id, NULL, false, correct, received_at FROM ab_pending_outcomes;
