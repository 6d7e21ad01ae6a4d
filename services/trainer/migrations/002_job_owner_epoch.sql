-- One writer per job (issue 13, part 4). A trainer that claims or takes over a job writes its own
-- id as owner and raises epoch; every later write of that job names both, so a trainer that lost
-- the job (paused past its heartbeat, then taken over) has its writes refused by the database.
ALTER TABLE training_jobs ADD COLUMN IF NOT EXISTS owner text;
ALTER TABLE training_jobs ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 0;

-- One job per retraining-lease grant. The primary key (the trigger's event id) already makes a
-- redelivered trigger a duplicate; this also covers a grant re-announced under a new event id (an
-- outbox row published again after Redis lost the dedupe keys). Tokens keep rising after a
-- FLUSHALL (RedisLocks), so a new grant is a new job, never a second job for an old one.
CREATE UNIQUE INDEX IF NOT EXISTS training_jobs_one_per_grant ON training_jobs (model, fencing_token);

-- A finished job is final: no late write (from any owner) turns it back into a running one or
-- rewrites its outcome. Epochs never go down.
CREATE OR REPLACE FUNCTION training_jobs_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.state IN ('succeeded', 'failed', 'rejected') AND NEW.state IS DISTINCT FROM OLD.state THEN
    RAISE EXCEPTION 'training job % is already %; refusing to set it to %', OLD.id, OLD.state, NEW.state USING ERRCODE = '23514';
  END IF;
  IF NEW.epoch < OLD.epoch THEN
    RAISE EXCEPTION 'training job % epoch % cannot go back to %', OLD.id, OLD.epoch, NEW.epoch USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS training_jobs_guard ON training_jobs;
CREATE TRIGGER training_jobs_guard BEFORE UPDATE ON training_jobs FOR EACH ROW EXECUTE FUNCTION training_jobs_guard();
