-- Who sent each counted event, and whether it proposes a label its model does not know yet.
-- client: the API client (from the event, or the /clients/<name> source of an outside producer);
-- NULL for events from before API keys, which count together as one standard client.
ALTER TABLE aggregator_feedback
  ADD COLUMN client   text,
  ADD COLUMN trusted  boolean NOT NULL DEFAULT false,   -- a trusted client: exempt from the per-client cap
  ADD COLUMN proposed boolean NOT NULL DEFAULT false;   -- counts only once feedback-ingest accepted its label (proposed_labels)
