import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, outboxMigrationsDir, runMigrations, withSearchPath } from '@flywheel/postgres';
import { createMetricsRegistry } from '@flywheel/runtime';
import { createAggregatorMetrics } from './aggregatorMetrics.js';
import { retainLedger } from './ledgerRetention.js';

// A private schema with the aggregator's tables; dropped in afterAll.
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `aggret_${process.pid}_${Date.now()}`;
const admin = createPool(url);
const pool = createPool(withSearchPath(url, schema));
const ago = (days: number) => new Date(Date.now() - days * 86_400_000);

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await runMigrations(pool, outboxMigrationsDir, { table: 'outbox_migrations' });
  await runMigrations(pool, fileURLToPath(new URL('../migrations', import.meta.url)), { table: 'aggregator_migrations' });
});
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const feedback = async (daysAgo: number, triggerToken: number | null): Promise<string> => {
  const id = randomUUID();
  await pool.query(`INSERT INTO aggregator_feedback (event_id, model, kind, received_at, trigger_token) VALUES ($1, 'm', 'misclassification', $2, $3)`, [id, ago(daysAgo), triggerToken]);
  return id;
};
const left = async (ids: string[]): Promise<number> => Number((await pool.query('SELECT count(*) AS n FROM aggregator_feedback WHERE event_id = ANY($1::uuid[])', [ids])).rows[0].n);

describe('ledger retention (real PostgreSQL)', () => {
  it('deletes old feedback already trained on and old trigger records, and never a pending row', async () => {
    const drop = [await feedback(40, 7), await feedback(100, 3)];
    const keep = [await feedback(400, null), await feedback(10, 9)];
    await pool.query(`INSERT INTO aggregator_triggers (id, model, reason, status, details, created_at) VALUES ($1, 'm', 'threshold', 'fired', '{}', $2), ($3, 'm', 'threshold', 'fired', '{}', $4)`, [randomUUID(), ago(100), randomUUID(), ago(5)]);
    const metrics = createAggregatorMetrics(createMetricsRegistry('aggregator-itest'));
    expect(await retainLedger(pool, { LEDGER_KEEP_DAYS: 30, TRIGGERS_KEEP_DAYS: 90 }, metrics.retentionDeleted)()).toEqual({ aggregator_feedback: 2, aggregator_triggers: 1 });
    expect(await left(drop)).toBe(0);
    expect(await left(keep)).toBe(2);
    expect(Number((await pool.query('SELECT count(*) AS n FROM aggregator_triggers')).rows[0].n)).toBe(1);
  });
});
