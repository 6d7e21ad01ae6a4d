// One-shot migrations for the service whose image this is (Kubernetes Job, compose one-shot).
// Services also apply their migrations at start (advisory-locked, idempotent); this runs them
// before a rollout so that a bad migration stops the deploy instead of crash-looping pods.
// Env: POSTGRES_URL (required), SERVICE (set by the image), MIGRATIONS_TABLE (default <service>_migrations),
// PG_SCHEMA (default public).
import { existsSync } from 'node:fs';

const url = process.env.POSTGRES_URL;
const service = process.env.SERVICE ?? '';
if (!url) {
  console.error('migrate: set POSTGRES_URL (postgres://user:password@host:5432/db)');
  process.exit(2);
}
const dir = new URL('./migrations/', import.meta.url);
if (!existsSync(dir)) {
  console.log(`migrate: ${service} has no migrations folder; nothing to do`);
  process.exit(0);
}
// Imported only when there is something to migrate: a service without migrations may not depend on it.
const { createPool, runMigrations, migrateOutbox } = await import('@flywheel/postgres');
const table = process.env.MIGRATIONS_TABLE ?? `${service.replaceAll('-', '_')}_migrations`;
const schema = process.env.PG_SCHEMA ?? 'public';
const pool = createPool(url, { max: 1, applicationName: `${service}-migrate` });
try {
  // The shared outbox first: a service's own migrations may move rows into it.
  if (migrateOutbox) await migrateOutbox(pool, { schema });
  const result = await runMigrations(pool, dir.pathname, { table, schema });
  console.log(JSON.stringify({ service, table, schema, applied: result.applied, skipped: result.skipped.length }));
} catch (err) {
  console.error(`migrate: ${service} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
