// A session the server ends (PostgreSQL restarted, pg_terminate_backend) while a caller holds the
// client between two queries must fail that caller's next query, not crash the process (found by
// bench:chaos: every service with an outbox relay died on a PostgreSQL restart).
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from './index.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

describe('createPool (real PostgreSQL)', () => {
  const name = `pool-itest-${randomBytes(4).toString('hex')}`;
  const pool = createPool(url, { max: 2, applicationName: name });
  const admin = createPool(url, { max: 1, applicationName: `${name}-admin` });
  afterAll(async () => {
    await pool.end();
    await admin.end();
  });

  it('survives the server ending a checked-out client, and the pool replaces that client', async () => {
    const held = await pool.connect();
    await held.query('SELECT 1');
    const killed = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [name]);
    expect(killed.rows.map((r) => r.ok)).toEqual([true]);
    // The server's FATAL reaches the idle client as an 'error' event (no query to reject); without the
    // pool's listener that event is uncaught and the test run fails. Give it time to arrive.
    for (let i = 0; i < 50 && (await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [name])).rowCount !== 0; i++) await sleep(50);
    await sleep(300);
    await expect(held.query('SELECT 1')).rejects.toThrow();
    held.release();
    const r = await pool.query<{ one: number }>('SELECT 1 AS one');
    expect(r.rows[0]?.one).toBe(1);
  });
});
