-- A champion the health check (or an operator) rolled back is `rolled_back`, not `deprecated`:
-- the evidence against it may have been noise, so an admin can promote it again; `deprecated`
-- stays final (rejected or superseded challengers).
ALTER TABLE registry_versions DROP CONSTRAINT IF EXISTS registry_versions_status_check;
ALTER TABLE registry_versions ADD CONSTRAINT registry_versions_status_check
  CHECK (status IN ('registered', 'challenger', 'champion', 'archived', 'deprecated', 'rolled_back'));
