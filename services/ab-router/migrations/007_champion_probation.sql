-- A champion that came in without live evidence (bootstrap, manual promote) is on probation until
-- its first full window of labelled predictions has been judged against the outgoing champion's
-- accuracy. On probation the health check judges it even while an experiment runs: a drop then is
-- the version's own fault, not drift that a challenger might remedy.
ALTER TABLE ab_champions ADD COLUMN IF NOT EXISTS on_probation boolean NOT NULL DEFAULT false;
