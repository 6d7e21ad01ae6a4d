import { z } from 'zod';
import type { Pool } from '@flywheel/postgres';

/** The running A/B experiment of a model, as `info` shows it. Totals come only from the ab-router's API. */
export interface RunningExperiment {
  id: string;
  championVersion: string;
  challengerVersion: string;
  startedAt: string | undefined;
  totals?: { champion: { n: number; successes: number }; challenger: { n: number; successes: number } };
  source: 'ab-router' | 'database';
}

const Row = z.object({ id: z.string(), champion_version: z.string(), challenger_version: z.string(), started_at: z.date() });

/**
 * Without ABROUTER_URL the running experiment is read from the ab-router's table in the same
 * database (read only; absent when the ab-router never ran against this schema).
 */
export const pgRunningExperiment = (pool: Pick<Pool, 'query'>) => async (model: string): Promise<RunningExperiment | undefined> => {
  const exists = await pool.query("SELECT to_regclass('ab_experiments') IS NOT NULL AS present");
  if (!z.object({ present: z.boolean() }).parse(exists.rows[0]).present) return undefined;
  const { rows } = await pool.query("SELECT id::text, champion_version, challenger_version, started_at FROM ab_experiments WHERE model = $1 AND state = 'running'", [model]);
  if (rows[0] === undefined) return undefined;
  const r = Row.parse(rows[0]);
  return { id: r.id, championVersion: r.champion_version, challengerVersion: r.challenger_version, startedAt: r.started_at.toISOString(), source: 'database' };
};
