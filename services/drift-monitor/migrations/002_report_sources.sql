-- What the weekly reports read that no other table keeps: every closed drift window (the
-- drift-reports events, one row per event id) and every feedback verdict (one row per feedback id:
-- realised accuracy per day and window, and the predicted → corrected label pairs). Both are
-- written by the reports' own consumer group, idempotently, and pruned after REPORT_KEEP_DAYS.
CREATE TABLE drift_report_windows (
  event_id      text PRIMARY KEY,
  model         text NOT NULL,
  model_version text NOT NULL,
  window_start  timestamptz NOT NULL,
  window_end    timestamptz NOT NULL,
  report        jsonb NOT NULL                  -- the event's data as published
);
CREATE INDEX drift_report_windows_model_end ON drift_report_windows (model, window_end);

CREATE TABLE drift_report_feedback (
  feedback_id     text PRIMARY KEY,
  model           text NOT NULL,
  model_version   text,
  predicted_label text,
  correct_label   text,
  correct         boolean,                      -- null: the feedback does not say whether the prediction was right
  received_at     timestamptz NOT NULL
);
CREATE INDEX drift_report_feedback_model_time ON drift_report_feedback (model, received_at);
