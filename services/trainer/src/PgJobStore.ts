import { z } from 'zod';
import { JobId, Metrics, ModelName, ModelVersion, RetrainingRequested, TrainingState } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import type { Announcement } from './announcements.js';

/** One training job as recorded in training_jobs. */
export interface Job {
  id: JobId;
  model: ModelName;
  fencingToken: number;
  state: TrainingState;
  progress: number;
  stage: string | undefined;
  reason: string | undefined;
  version: ModelVersion | undefined;
  trigger: RetrainingRequested;
  heartbeatAt: Date | undefined;
}

/** What recording a trigger did: queued it, saw it before, or refused it as stale. */
export type EnqueueOutcome = { kind: 'queued'; job: Job } | { kind: 'duplicate' } | { kind: 'stale'; highest: number };

/**
 * The trainer's job bookkeeping (training_jobs). Every change that is announced takes its
 * announcements along: they are written to the shared outbox in the change's own transaction, so
 * an event goes out exactly when its change committed (the outbox relay publishes it).
 */
export interface JobStore {
  /** Records a trigger as queued unless its fencing token is lower than the highest seen for the model (stale); `announce` says what to publish for the outcome. */
  enqueue(id: string, model: ModelName, trigger: RetrainingRequested, announce?: (outcome: EnqueueOutcome) => Announcement[]): Promise<EnqueueOutcome>;
  /** Claims the oldest queued job of a model that has no running job; undefined when there is none. */
  claimNext(): Promise<Job | undefined>;
  update(id: JobId, patch: { progress?: number; stage?: string; version?: ModelVersion }, announce?: Announcement[]): Promise<void>;
  heartbeat(id: JobId): Promise<void>;
  finish(id: JobId, state: 'succeeded' | 'failed' | 'rejected', patch: { reason?: string; version?: ModelVersion; metrics?: Metrics }, announce?: Announcement[]): Promise<void>;
  /** The highest fencing token recorded for a model (fencing check before registering). */
  highestToken(model: ModelName): Promise<number | undefined>;
  /** Running jobs whose heartbeat is older than `staleAfterMs`: left behind by a dead trainer. */
  staleRunning(staleAfterMs: number): Promise<Job[]>;
  get(id: JobId): Promise<Job | undefined>;
}

const Row = z.object({
  id: JobId,
  model: ModelName,
  fencing_token: z.coerce.number(),
  state: TrainingState,
  progress: z.number(),
  stage: z.string().nullable(),
  reason: z.string().nullable(),
  version: ModelVersion.nullable(),
  trigger: RetrainingRequested,
  heartbeat_at: z.date().nullable(),
});
const toJob = (raw: unknown): Job => {
  const r = Row.parse(raw);
  return { id: r.id, model: r.model, fencingToken: r.fencing_token, state: r.state, progress: r.progress, stage: r.stage ?? undefined, reason: r.reason ?? undefined, version: r.version ?? undefined, trigger: r.trigger, heartbeatAt: r.heartbeat_at ?? undefined };
};
const COLS = 'id, model, fencing_token, state, progress, stage, reason, version, trigger, heartbeat_at';

/** JobStore over PostgreSQL; claiming uses SKIP LOCKED and a partial unique index keeps one running job per model. */
export class PgJobStore implements JobStore {
  /**
   * `opts.models`: SQL LIKE pattern of the models this trainer serves (default all).
   * `opts.announced`: called after a commit that wrote announcements (the relay's nudge, so they go out now).
   */
  constructor(private readonly pool: Pool, private readonly opts: { models?: string; announced?: () => void } = {}) {}

  private get pattern(): string {
    return this.opts.models ?? '%';
  }

  /** Runs `change` and writes what it announces in one transaction; nudges the relay after the commit. */
  private async announcing<T>(change: (tx: PoolClient) => Promise<{ out: T; announce: Announcement[] }>): Promise<T> {
    let wrote = false;
    const out = await withTransaction(this.pool, async (tx) => {
      const r = await change(tx);
      for (const a of r.announce) wrote = (await enqueueInTx(tx, a)) || wrote;
      return r.out;
    });
    if (wrote) this.opts.announced?.();
    return out;
  }

  enqueue(id: string, model: ModelName, trigger: RetrainingRequested, announce: (outcome: EnqueueOutcome) => Announcement[] = () => []): Promise<EnqueueOutcome> {
    return this.announcing<EnqueueOutcome>(async (tx) => {
      // Serialize enqueues of one model so two triggers cannot both pass the stale check.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`training_jobs:${model}`]);
      const seen = await tx.query('SELECT 1 FROM training_jobs WHERE id = $1', [id]);
      if (seen.rowCount) return { out: { kind: 'duplicate' as const }, announce: [] };
      const max = z.object({ max: z.coerce.number().nullable() }).parse((await tx.query('SELECT max(fencing_token) AS max FROM training_jobs WHERE model = $1', [model])).rows[0]).max;
      const stale = max !== null && trigger.fencingToken < max;
      const { rows } = await tx.query(
        `INSERT INTO training_jobs (id, model, fencing_token, state, reason, trigger, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLS}`,
        [id, model, trigger.fencingToken, stale ? 'failed' : 'queued', stale ? `stale fencing token ${trigger.fencingToken} < ${max}` : null, JSON.stringify(trigger), stale ? new Date() : null],
      );
      const out: EnqueueOutcome = stale ? { kind: 'stale', highest: max } : { kind: 'queued', job: toJob(rows[0]) };
      return { out, announce: announce(out) };
    });
  }

  async claimNext(): Promise<Job | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE training_jobs SET state = 'running', started_at = now(), heartbeat_at = now(), stage = 'claimed'
        WHERE id = (
          SELECT q.id FROM training_jobs q
           WHERE q.state = 'queued' AND q.model LIKE $1 AND NOT EXISTS (SELECT 1 FROM training_jobs r WHERE r.model = q.model AND r.state = 'running')
           ORDER BY q.created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLS}`,
      [this.pattern],
    ).catch((err: unknown) => {
      // Two trainers claimed jobs of one model at once: the unique index refused the second; it retries later.
      if ((err as { code?: string }).code === '23505') return { rows: [] };
      throw err;
    });
    return rows[0] === undefined ? undefined : toJob(rows[0]);
  }

  update(id: JobId, patch: { progress?: number; stage?: string; version?: ModelVersion }, announce: Announcement[] = []): Promise<void> {
    return this.announcing(async (tx) => {
      await tx.query(
        `UPDATE training_jobs SET progress = COALESCE($2, progress), stage = COALESCE($3, stage), version = COALESCE($4, version), heartbeat_at = now() WHERE id = $1`,
        [id, patch.progress ?? null, patch.stage ?? null, patch.version ?? null],
      );
      return { out: undefined, announce };
    });
  }

  async heartbeat(id: JobId): Promise<void> {
    await this.pool.query(`UPDATE training_jobs SET heartbeat_at = now() WHERE id = $1 AND state = 'running'`, [id]);
  }

  finish(id: JobId, state: 'succeeded' | 'failed' | 'rejected', patch: { reason?: string; version?: ModelVersion; metrics?: Metrics }, announce: Announcement[] = []): Promise<void> {
    return this.announcing(async (tx) => {
      await tx.query(
        `UPDATE training_jobs SET state = $2, reason = $3, version = COALESCE($4, version), metrics = COALESCE($5, metrics), finished_at = now(),
                progress = CASE WHEN $2 = 'succeeded' THEN 1 ELSE progress END
          WHERE id = $1`,
        [id, state, patch.reason?.slice(0, 4000) ?? null, patch.version ?? null, patch.metrics ? JSON.stringify(patch.metrics) : null],
      );
      return { out: undefined, announce };
    });
  }

  async highestToken(model: ModelName): Promise<number | undefined> {
    const r = z.object({ max: z.coerce.number().nullable() }).parse((await this.pool.query('SELECT max(fencing_token) AS max FROM training_jobs WHERE model = $1', [model])).rows[0]);
    return r.max ?? undefined;
  }

  async staleRunning(staleAfterMs: number): Promise<Job[]> {
    const { rows } = await this.pool.query(`SELECT ${COLS} FROM training_jobs WHERE state = 'running' AND model LIKE $2 AND heartbeat_at < now() - make_interval(secs => $1::double precision / 1000)`, [staleAfterMs, this.pattern]);
    return rows.map(toJob);
  }

  async get(id: JobId): Promise<Job | undefined> {
    const { rows } = await this.pool.query(`SELECT ${COLS} FROM training_jobs WHERE id = $1`, [id]);
    return rows[0] === undefined ? undefined : toJob(rows[0]);
  }
}
