-- Triggers are now announced through the shared outbox (flywheel_outbox, @flywheel/postgres),
-- written in the transaction that records them. Fired triggers the old sweep had not published yet
-- move over (same event ids), then the ledger's own publishing columns go. The shared outbox
-- migrations must run first: the service applies them before its own at start, and so does
-- deploy/docker/migrate.mjs.
DO $$
BEGIN
  IF to_regclass('flywheel_outbox') IS NULL THEN
    RAISE EXCEPTION 'flywheel_outbox does not exist: apply the shared outbox migrations (@flywheel/postgres migrateOutbox, history table outbox_migrations) before the aggregator''s 002, or unsent triggers would be lost';
  END IF;
END $$;

INSERT INTO flywheel_outbox (event_id, topic, key, event, created_at)
SELECT id::text, 'retrainingTriggers', model, event, created_at FROM aggregator_triggers
 WHERE status = 'fired' AND published_at IS NULL AND event IS NOT NULL
 ORDER BY created_at
ON CONFLICT (event_id) DO NOTHING;

DROP INDEX IF EXISTS aggregator_triggers_unpublished;
ALTER TABLE aggregator_triggers DROP COLUMN event, DROP COLUMN published_at;
