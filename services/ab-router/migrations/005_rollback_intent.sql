-- A rollback is decided before the registry moves (issue 13, part 1): the intent is written first,
-- then the registry rolls back (its own transaction), then one transaction of ours sets the guarded
-- champion, writes the rolled_back event (outbox) and the routing, and clears the intent. A crash
-- in between leaves the intent, which resumeDecisions finishes.
ALTER TABLE ab_champions ADD COLUMN IF NOT EXISTS rollback_intent jsonb;
