import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, runMigrations, withSearchPath } from '@flywheel/postgres';
import { createMetricsRegistry } from '@flywheel/runtime';
import { createRetentionMetrics } from './abRouterMetrics.js';
import { migrationsDir } from './migrations.js';
import { retainOutcomes } from './outcomeRetention.js';

// A private schema with the ab-router's tables only; dropped in afterAll.
const url = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `abret_${process.pid}_${Date.now()}`;
const admin = createPool(url);
const pool = createPool(withSearchPath(url, schema));
const DAY = 86_400_000;
const old = new Date(Date.now() - 100 * DAY);
const fresh = new Date(Date.now() - DAY);

beforeAll(async () => {
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await runMigrations(pool, migrationsDir, { table: 'ab_router_migrations' });
});
afterAll(async () => {
  await pool.end();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

const experiment = async (state: string, appliedAt: Date | null): Promise<string> => {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO ab_experiments (id, model, champion_version, challenger_version, split_bps, salt, method, config, state, started_at, decided_at, applied_at)
     VALUES ($1, 'm', '1.0.0', '1.0.1', 1000, 's', 'fixed', '{}', $2, $3, $4, $5)`,
    [id, state, old, state === 'running' ? null : fresh, appliedAt],
  );
  return id;
};
/** An outcome with one report, both at `at`; returns the prediction id. */
const outcome = async (experimentId: string | null, at: Date, shadowOf: string | null = null): Promise<string> => {
  const id = randomUUID();
  await pool.query(
    `INSERT INTO ab_outcomes (prediction_id, model, model_version, experiment_id, shadow_experiment_id, variant, correct, predicted_at, labelled_at) VALUES ($1, 'm', '1.0.0', $2, $3, 'champion', true, $4, $4)`,
    [id, experimentId, shadowOf, at],
  );
  await pool.query(`INSERT INTO ab_outcome_reports (feedback_id, prediction_id, trusted, correct, received_at) VALUES ($1, $2, true, true, $3)`, [randomUUID(), id, at]);
  return id;
};
const left = async (table: 'ab_outcomes' | 'ab_outcome_reports', ids: string[]): Promise<number> =>
  Number((await pool.query(`SELECT count(*) AS n FROM ${table} WHERE prediction_id = ANY($1::uuid[])`, [ids])).rows[0].n);

describe('outcome retention (real PostgreSQL)', () => {
  it('deletes old outcomes and reports of finished experiments and of none, and keeps those of live experiments (A/B or shadow) and recent ones', async () => {
    const running = await experiment('running', null);
    const unapplied = await experiment('promoted', null);
    const finished = await experiment('rejected', fresh);
    const keep = [await outcome(running, old), await outcome(unapplied, old), await outcome(null, old, running), await outcome(finished, fresh), await outcome(null, fresh)];
    const drop = [await outcome(finished, old), await outcome(null, old)];
    const orphanReport = randomUUID(); // a report whose prediction never arrived
    await pool.query(`INSERT INTO ab_outcome_reports (feedback_id, prediction_id, trusted, correct, received_at) VALUES ($1, $2, true, true, $3)`, [randomUUID(), orphanReport, old]);

    const metrics = createRetentionMetrics(createMetricsRegistry('ab-router-itest'));
    const deleted = await retainOutcomes(pool, { OUTCOMES_KEEP_DAYS: 90 }, metrics)();

    expect(deleted).toEqual({ ab_outcomes: 2, ab_outcome_reports: 3, ab_pending_outcomes: 0 });
    expect(await left('ab_outcomes', keep)).toBe(5);
    expect(await left('ab_outcome_reports', keep)).toBe(5);
    expect(await left('ab_outcomes', drop)).toBe(0);
    expect(await left('ab_outcome_reports', [...drop, orphanReport])).toBe(0);
    expect((await metrics.deleted.get()).values.find((v) => v.labels.table === 'ab_outcome_reports')?.value).toBe(3);
  });
});
