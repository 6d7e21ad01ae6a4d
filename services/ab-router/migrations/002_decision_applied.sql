-- A decision is two steps: the experiment row (decided_at) and applying it to the registry, events
-- and routing (applied_at). A row decided but not applied is what a crash left half-done; the
-- ab-router finishes it at start and on every tick. Rows decided before this column existed count as applied.
ALTER TABLE ab_experiments ADD COLUMN IF NOT EXISTS applied_at timestamptz;
UPDATE ab_experiments SET applied_at = decided_at WHERE state <> 'running' AND applied_at IS NULL;
CREATE INDEX IF NOT EXISTS ab_experiments_unapplied ON ab_experiments (decided_at) WHERE state <> 'running' AND applied_at IS NULL;
