import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, runMigrations, withSearchPath } from '@flywheel/postgres';
import { createMetricsRegistry } from '@flywheel/runtime';
import { retainJobs } from './jobRetention.js';
import { createTrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

// A private schema with the trainer's tables only; dropped in afterAll.
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `jobret_${process.pid}_${Date.now()}`;
const admin = createPool(url);
const pool = createPool(withSearchPath(url, schema));
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY);

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await runMigrations(pool, trainerMigrationsDir, { table: 'trainer_migrations' });
});
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const job = async (model: string, token: number, state: string, createdDaysAgo: number, finishedDaysAgo: number | null): Promise<string> => {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO training_jobs (id, model, fencing_token, state, trigger, created_at, finished_at) VALUES ($1, $2, $3, $4, '{}', $5, $6)`,
    [id, model, token, state, ago(createdDaysAgo), finishedDaysAgo === null ? null : ago(finishedDaysAgo)],
  );
  return id;
};
const left = async (ids: string[]): Promise<number> => Number((await pool.query('SELECT count(*) AS n FROM training_jobs WHERE id = ANY($1::uuid[])', [ids])).rows[0].n);

describe('training job retention (real PostgreSQL)', () => {
  it('deletes old finished jobs, and keeps unfinished ones, recent ones and the newest job of each model', async () => {
    const drop = [await job('a', 1, 'succeeded', 200, 200), await job('a', 2, 'failed', 150, 150), await job('a', 3, 'rejected', 120, 120)];
    const keep = [
      await job('a', 4, 'queued', 200, null), // never finished: not retention's to delete
      await job('a', 5, 'succeeded', 10, 10), // recent
      await job('b', 1, 'succeeded', 300, 300), // old, but b's newest: its token refuses stale triggers
    ];
    const metrics = createTrainerMetrics(createMetricsRegistry('trainer-itest'));
    expect(await retainJobs(pool, { TRAINING_JOBS_KEEP_DAYS: 90 }, metrics.retentionDeleted)()).toEqual({ training_jobs: 3 });
    expect(await left(drop)).toBe(0);
    expect(await left(keep)).toBe(3);
    expect((await metrics.retentionDeleted.get()).values[0]?.value).toBe(3);
  });
});
