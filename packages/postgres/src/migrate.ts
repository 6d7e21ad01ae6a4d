import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

/**
 * Applies `NNN_name.sql` files from a folder in name order, each in its own transaction, once.
 * A PostgreSQL advisory lock keyed by the history table lets several replicas start together.
 * An applied file whose content changed is refused: write a new migration instead.
 */
export const runMigrations = async (
  pool: pg.Pool,
  dir: string,
  opts: { table?: string; schema?: string } = {},
): Promise<MigrationResult> => {
  const table = opts.table ?? 'flywheel_migrations';
  const files = readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const client = await pool.connect();
  // Default: the schema the connection's search_path resolves to (public unless the URL sets
  // `options=-c search_path=...`), so the tables land where the service's queries will look.
  const schema = opts.schema ?? (await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? 'public';
  const lockKey = Number.parseInt(createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 8), 16);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [lockKey]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`SET search_path TO "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Map((await client.query<{ name: string; checksum: string }>(`SELECT name, checksum FROM ${table}`)).rows.map((r) => [r.name, r.checksum]));
    const result: MigrationResult = { applied: [], skipped: [] };
    for (const file of files) {
      const sql = readFileSync(join(dir, file), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      const prior = done.get(file);
      if (prior !== undefined) {
        if (prior !== checksum) throw new Error(`migration ${file} changed after it was applied; add a new migration file instead of editing it`);
        result.skipped.push(file);
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query(`INSERT INTO ${table} (name, checksum) VALUES ($1, $2)`, [file, checksum]);
        await client.query('COMMIT');
        result.applied.push(file);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return result;
  } finally {
    await client.query('RESET search_path').catch(() => {});
    await client.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => {});
    client.release();
  }
};
