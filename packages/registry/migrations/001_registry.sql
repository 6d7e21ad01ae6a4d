-- Model registry: models, their versions and the append-only history of every status move.
CREATE TABLE IF NOT EXISTS registry_models (
  model        text PRIMARY KEY,
  description  text,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS registry_versions (
  model          text NOT NULL REFERENCES registry_models(model),
  version        text NOT NULL,
  major          int  NOT NULL,
  minor          int  NOT NULL,
  patch          int  NOT NULL,
  status         text NOT NULL CHECK (status IN ('registered', 'challenger', 'champion', 'archived', 'deprecated')),
  base_version   text NOT NULL,
  parent_version text,
  labels         jsonb NOT NULL,
  metrics        jsonb NOT NULL DEFAULT '{}'::jsonb,
  artifact       jsonb NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model, version)
);
-- At most one champion and one challenger per model, whatever the application does.
CREATE UNIQUE INDEX IF NOT EXISTS registry_versions_one_champion ON registry_versions (model) WHERE status = 'champion';
CREATE UNIQUE INDEX IF NOT EXISTS registry_versions_one_challenger ON registry_versions (model) WHERE status = 'challenger';

CREATE TABLE IF NOT EXISTS registry_history (
  id          bigserial PRIMARY KEY,
  model       text NOT NULL,
  version     text NOT NULL,
  from_status text,
  to_status   text NOT NULL,
  actor       text NOT NULL,
  reason      text NOT NULL,
  metrics     jsonb NOT NULL DEFAULT '{}'::jsonb,
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  FOREIGN KEY (model, version) REFERENCES registry_versions (model, version)
);
CREATE INDEX IF NOT EXISTS registry_history_model ON registry_history (model, id);

-- Append-only: history rows are never changed or removed.
CREATE OR REPLACE FUNCTION registry_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'registry_history is append-only';
END $$;
DROP TRIGGER IF EXISTS registry_history_no_change ON registry_history;
CREATE TRIGGER registry_history_no_change BEFORE UPDATE OR DELETE ON registry_history
  FOR EACH ROW EXECUTE FUNCTION registry_history_append_only();
