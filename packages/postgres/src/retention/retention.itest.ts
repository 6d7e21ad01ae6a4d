import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, deleteInBatches, runRetention, withSearchPath } from '../index.js';

const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ret_${process.pid}_${Date.now()}`;
const admin = createPool(url);
const pool = createPool(withSearchPath(url, schema));
const day = 86_400_000;
const now = Date.parse('2026-06-01T00:00:00Z');

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA "${schema}"`);
});
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

/** `old` rows 10 days old (half of them 'running'), `fresh` rows 1 day old. */
const fill = async (table: string, old: number, fresh: number): Promise<void> => {
  await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, status text NOT NULL, created_at timestamptz NOT NULL)`);
  await pool.query(`CREATE INDEX ON ${table} (created_at)`);
  await pool.query(
    `INSERT INTO ${table} (status, created_at)
     SELECT CASE WHEN g % 2 = 0 THEN 'done' ELSE 'running' END, $1::timestamptz FROM generate_series(1, $2) g
     UNION ALL SELECT 'done', $3::timestamptz FROM generate_series(1, $4)`,
    [new Date(now - 10 * day), old, new Date(now - day), fresh],
  );
};
const count = async (table: string, where = 'TRUE'): Promise<number> =>
  Number((await pool.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`)).rows[0].n);

describe('deleteInBatches (real PostgreSQL)', () => {
  it('deletes every row older than the cutoff that meets the condition, over several batches, and nothing else', async () => {
    await fill('jobs', 250, 40);
    const n = await deleteInBatches(pool, { table: 'jobs', column: 'created_at', cutoff: new Date(now - 5 * day), where: 'status = $3', params: ['done'], batchSize: 30, pauseMs: 0 });
    expect(n).toBe(125);
    expect(await count('jobs', `status = 'done'`)).toBe(40);
    expect(await count('jobs', `status = 'running'`)).toBe(125);
  });

  it('stops at maxRows and continues on the next call', async () => {
    await fill('preds', 100, 5);
    const cutoff = new Date(now - 5 * day);
    expect(await deleteInBatches(pool, { table: 'preds', column: 'created_at', cutoff, batchSize: 30, maxRows: 70, pauseMs: 0 })).toBe(70);
    expect(await deleteInBatches(pool, { table: 'preds', column: 'created_at', cutoff, batchSize: 30, pauseMs: 0 })).toBe(30);
    expect(await count('preds')).toBe(5);
  });

  it('skips rows another transaction holds instead of waiting for them', async () => {
    await fill('locked', 10, 0);
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM locked WHERE id <= 3 FOR UPDATE`);
      const n = await deleteInBatches(pool, { table: 'locked', column: 'created_at', cutoff: new Date(now - 5 * day), pauseMs: 0 });
      expect(n).toBe(7);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect(await count('locked')).toBe(3);
  });

  it('refuses a table name that is not a plain identifier', async () => {
    await expect(deleteInBatches(pool, { table: 'x; DROP TABLE jobs', column: 'created_at', cutoff: new Date() })).rejects.toThrow(/identifier/);
  });
});

describe('runRetention (real PostgreSQL)', () => {
  it('applies each policy with its own age and reports the counts per table', async () => {
    await fill('outcomes', 20, 20);
    await fill('keys', 20, 20);
    const seen: [string, number][] = [];
    const res = await runRetention(pool, [
      { table: 'outcomes', column: 'created_at', keepMs: 30 * day },
      { table: 'keys', column: 'created_at', keepMs: 2 * day },
    ], { now: () => now, onDeleted: (t, n) => seen.push([t, n]) });
    expect(res).toEqual({ outcomes: 0, keys: 20 });
    expect(seen).toEqual([['outcomes', 0], ['keys', 20]]);
    expect(await count('keys')).toBe(20);
  });
});
