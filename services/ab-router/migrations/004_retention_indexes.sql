-- Retention (src/outcomeRetention.ts) deletes outcomes and reports by age: each batch finds its
-- rows through these indexes instead of scanning the table.
CREATE INDEX IF NOT EXISTS ab_outcomes_predicted ON ab_outcomes (predicted_at);
CREATE INDEX IF NOT EXISTS ab_outcome_reports_received ON ab_outcome_reports (received_at);
