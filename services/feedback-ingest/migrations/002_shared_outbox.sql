-- feedback-ingest now writes to the shared outbox (flywheel_outbox, @flywheel/postgres) instead of
-- its own table. Rows not yet published move over (same event ids, same order, so consumers
-- deduplicate anything the old relay had already sent), then the old table goes. The shared
-- outbox migrations must run first: the service applies them before its own at start, and so does
-- deploy/docker/migrate.mjs.
DO $$
BEGIN
  IF to_regclass('flywheel_outbox') IS NULL THEN
    RAISE EXCEPTION 'flywheel_outbox does not exist: apply the shared outbox migrations (@flywheel/postgres migrateOutbox, history table outbox_migrations) before feedback-ingest''s 002, or rows waiting in feedback_ingest_outbox would be lost';
  END IF;
END $$;

INSERT INTO flywheel_outbox (event_id, topic, key, event, created_at)
SELECT event_id::text, topic, key, event, created_at FROM feedback_ingest_outbox
 WHERE published_at IS NULL
 ORDER BY id
ON CONFLICT (event_id) DO NOTHING;

DROP TABLE feedback_ingest_outbox;
