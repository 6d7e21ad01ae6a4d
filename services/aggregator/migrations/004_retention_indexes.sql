-- Retention (src/ledgerRetention.ts) deletes feedback already trained on, by age: each batch finds
-- its rows through this index. Pending rows (trigger_token NULL) are the counts and never deleted.
CREATE INDEX IF NOT EXISTS aggregator_feedback_consumed ON aggregator_feedback (received_at) WHERE trigger_token IS NOT NULL;
