import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, runMigrations } from './index.js';

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('runMigrations (real PostgreSQL)', () => {
  const pool = createPool(url);
  const schema = `mig_${process.pid}_${Date.now()}`;
  afterAll(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it('applies files once, in order, concurrently safe, and refuses an edited one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mig-'));
    writeFileSync(join(dir, '001_a.sql'), `CREATE TABLE "${schema}".a (id int)`);
    writeFileSync(join(dir, '002_b.sql'), `INSERT INTO "${schema}".a VALUES (1)`);
    const [r1, r2] = await Promise.all([runMigrations(pool, dir, { schema }), runMigrations(pool, dir, { schema })]);
    expect([...r1.applied, ...r2.applied].sort()).toEqual(['001_a.sql', '002_b.sql']);
    const rows = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".a`);
    expect(rows.rows[0].n).toBe(1);
    writeFileSync(join(dir, '002_b.sql'), `INSERT INTO "${schema}".a VALUES (2)`);
    await expect(runMigrations(pool, dir, { schema })).rejects.toThrow(/changed after it was applied/);
  });
});
