-- Shadow tests (issue 16): an experiment may start in a `shadow` phase, where serving answers with
-- the champion and also scores each request with the challenger off the request path; both answers
-- arrive on one prediction event. Outcomes then judge both models on the same items (paired).
ALTER TABLE ab_experiments ADD COLUMN IF NOT EXISTS phase text NOT NULL DEFAULT 'ab' CHECK (phase IN ('shadow', 'ab'));
-- The shadow phase's decision when it handed over to an A/B phase (the final decision stays in `decision`).
ALTER TABLE ab_experiments ADD COLUMN IF NOT EXISTS shadow_decision jsonb;

-- The label each prediction answered, and the shadow's answer to the same request when one ran.
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS label text;
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS shadow_experiment_id uuid;
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS shadow_version text;
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS shadow_label text;
-- The true label, when the report that counted named it (a correction or a confirmation): it
-- decides whether the shadow's answer was right too.
ALTER TABLE ab_outcomes ADD COLUMN IF NOT EXISTS true_label text;
ALTER TABLE ab_outcome_reports ADD COLUMN IF NOT EXISTS true_label text;
CREATE INDEX IF NOT EXISTS ab_outcomes_shadow ON ab_outcomes (shadow_experiment_id) WHERE shadow_experiment_id IS NOT NULL;
