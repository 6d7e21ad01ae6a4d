-- Named API clients. A key is shown once at creation and only its SHA-256 is kept; key_prefix is
-- the first characters of the key, enough to recognise it in a listing, too few to use it.
-- A name has at most one active key; revoking keeps the row for audit, and the name may then be
-- issued a new key (rotation).
CREATE TABLE api_clients (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9._-]{0,62}$' AND name <> 'admin'),
  scopes      text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['predict', 'feedback', 'admin']::text[]),
  trust       text NOT NULL CHECK (trust IN ('trusted', 'standard')),
  key_prefix  text NOT NULL,
  key_hash    text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  revoked_by  text
);
CREATE UNIQUE INDEX api_clients_active_name ON api_clients (name) WHERE revoked_at IS NULL;
