import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, outboxMigrationsDir, runMigrations, runRetention, withSearchPath } from '@flywheel/postgres';
import { ingestRetention } from './retention.js';

// A private schema with feedback-ingest's tables; dropped in afterAll.
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `ingret_${process.pid}_${Date.now()}`;
const admin = createPool(url);
const pool = createPool(withSearchPath(url, schema));
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(Date.now() - ms);

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await runMigrations(pool, outboxMigrationsDir, { table: 'outbox_migrations' });
  await runMigrations(pool, fileURLToPath(new URL('../migrations', import.meta.url)), { table: 'feedback_ingest_migrations' });
});
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const prediction = (at: Date) =>
  pool.query(`INSERT INTO predictions (prediction_id, model, model_version, variant, text, label, confidence, created_at) VALUES ($1, 'm', '1.0.0', 'champion', 't', 'a', 0.9, $2)`, [randomUUID(), at]);
const idempotencyKey = (at: Date) =>
  pool.query(`INSERT INTO feedback_ingest_idempotency (key, body_hash, status, response, created_at) VALUES ($1, 'h', 202, '[]', $2)`, [`feedback:${randomUUID()}`, at]);
const count = async (table: string) => Number((await pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

describe('feedback-ingest retention (real PostgreSQL)', () => {
  it('deletes predictions and idempotency keys past their own ages and keeps feedback and younger rows', async () => {
    for (const h of [31 * 24, 40 * 24, 29 * 24, 1]) await prediction(ago(h * HOUR));
    for (const h of [49, 72, 47, 1]) await idempotencyKey(ago(h * HOUR));
    await pool.query(`INSERT INTO feedback (id, model, text, kind, created_at) VALUES ($1, 'm', 't', 'confirmation', $2)`, [randomUUID(), ago(400 * 24 * HOUR)]);

    const deleted = await runRetention(pool, ingestRetention({ PREDICTIONS_KEEP_DAYS: 30, IDEMPOTENCY_KEEP_HOURS: 48 }));

    expect(deleted).toEqual({ predictions: 2, feedback_ingest_idempotency: 2 });
    expect(await count('predictions')).toBe(2);
    expect(await count('feedback_ingest_idempotency')).toBe(2);
    expect(await count('feedback')).toBe(1);
  });
});
