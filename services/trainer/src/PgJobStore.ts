import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { JobId, Metrics, ModelName, ModelVersion, RetrainingRequested, TrainingState } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import { Conflict } from '@flywheel/runtime';
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
  /** the trainer that claimed (or last took over) the job */
  owner: string | undefined;
  /** raised by every claim and takeover; a write naming an older epoch is refused */
  epoch: number;
}

/** A job as its owner holds it: every write names the owner and epoch it was claimed with. */
export type OwnedJob = Pick<Job, 'id' | 'owner' | 'epoch'>;

/** How a job ends: its state, what is recorded on it, and what is announced with it. */
export interface Finish {
  state: 'succeeded' | 'failed' | 'rejected';
  patch: { reason?: string; version?: ModelVersion; metrics?: Metrics };
  announce: Announcement[];
}

/** This trainer no longer owns the job (another took it over, or it finished): stop and write nothing more. */
export class NotJobOwner extends Conflict {}

/** What recording a trigger did: queued it, saw it before, or refused it as stale. */
export type EnqueueOutcome = { kind: 'queued'; job: Job } | { kind: 'duplicate' } | { kind: 'stale'; highest: number };

/**
 * The trainer's job bookkeeping (training_jobs). Every change that is announced takes its
 * announcements along: they are written to the shared outbox in the change's own transaction, so
 * an event goes out exactly when its change committed (the outbox relay publishes it).
 */
export interface JobStore {
  /** Who this store claims jobs as (the trainer's owner id). */
  readonly owner: string;
  /** Records a trigger as queued unless its fencing token is lower than the highest seen for the model (stale); `announce` says what to publish for the outcome. */
  enqueue(id: string, model: ModelName, trigger: RetrainingRequested, announce?: (outcome: EnqueueOutcome) => Announcement[]): Promise<EnqueueOutcome>;
  /** Claims the oldest queued job of a model that has no running job, as this trainer with a new epoch; undefined when there is none. */
  claimNext(): Promise<Job | undefined>;
  /** The writes below name the owner and epoch: they throw NotJobOwner when the job has moved on. */
  update(job: OwnedJob, patch: { progress?: number; stage?: string; version?: ModelVersion }, announce?: Announcement[]): Promise<void>;
  heartbeat(job: OwnedJob): Promise<void>;
  finish(job: OwnedJob, state: 'succeeded' | 'failed' | 'rejected', patch: { reason?: string; version?: ModelVersion; metrics?: Metrics }, announce?: Announcement[]): Promise<void>;
  /**
   * Runs `work` while holding the job's row (owner and epoch checked), then finishes the job as
   * `done` says, with its announcements, in that transaction. A takeover waits for it, so a job's
   * upload is never removed while its owner registers it, and the owner removes an upload only
   * while no other trainer can own the job (nor run another job of the model).
   */
  finishAfter<T>(job: OwnedJob, work: () => Promise<T>, done: (out: T) => Finish): Promise<T>;
  /** Takes over a running job whose heartbeat is older than `staleAfterMs` and whose epoch is still `job.epoch`; undefined when it moved on. */
  takeOver(job: OwnedJob, staleAfterMs: number): Promise<Job | undefined>;
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
  owner: z.string().nullable(),
  epoch: z.coerce.number(),
});
const toJob = (raw: unknown): Job => {
  const r = Row.parse(raw);
  return { id: r.id, model: r.model, fencingToken: r.fencing_token, state: r.state, progress: r.progress, stage: r.stage ?? undefined, reason: r.reason ?? undefined, version: r.version ?? undefined, trigger: r.trigger, heartbeatAt: r.heartbeat_at ?? undefined, owner: r.owner ?? undefined, epoch: r.epoch };
};
const COLS = 'id, model, fencing_token, state, progress, stage, reason, version, trigger, heartbeat_at, owner, epoch';
/** The guard every owner's write carries ($1 id, $2 owner, $3 epoch). */
const OWNED = `id = $1 AND owner = $2 AND epoch = $3 AND state = 'running'`;
const ownedParams = (job: OwnedJob): unknown[] => [job.id, job.owner ?? null, job.epoch];
const refused = (job: OwnedJob, what: string): NotJobOwner =>
  new NotJobOwner(`training job ${job.id} is no longer owned by ${job.owner ?? '(none)'} at epoch ${job.epoch} (taken over or finished); ${what} was refused and this trainer stops the job`);

/** JobStore over PostgreSQL; claiming uses SKIP LOCKED and a partial unique index keeps one running job per model. */
export class PgJobStore implements JobStore {
  /**
   * `opts.models`: SQL LIKE pattern of the models this trainer serves (default all).
   * `opts.announced`: called after a commit that wrote announcements (the relay's nudge, so they go out now).
   * `opts.owner`: this trainer's id on the jobs it claims (default host:pid:random, unique per process).
   */
  constructor(private readonly pool: Pool, private readonly opts: { models?: string; announced?: () => void; owner?: string } = {}) {
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  /** Who this store claims jobs as. */
  readonly owner: string;

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
      // A second trigger for a grant already recorded (same model and token, another event id) is the same trigger.
      const { rows } = await tx.query(
        `INSERT INTO training_jobs (id, model, fencing_token, state, reason, trigger, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (model, fencing_token) DO NOTHING RETURNING ${COLS}`,
        [id, model, trigger.fencingToken, stale ? 'failed' : 'queued', stale ? `stale fencing token ${trigger.fencingToken} < ${max}` : null, JSON.stringify(trigger), stale ? new Date() : null],
      );
      if (rows[0] === undefined) return { out: { kind: 'duplicate' as const }, announce: [] };
      const out: EnqueueOutcome = stale ? { kind: 'stale', highest: max } : { kind: 'queued', job: toJob(rows[0]) };
      return { out, announce: announce(out) };
    });
  }

  async claimNext(): Promise<Job | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE training_jobs SET state = 'running', started_at = now(), heartbeat_at = now(), stage = 'claimed', owner = $2, epoch = epoch + 1
        WHERE id = (
          SELECT q.id FROM training_jobs q
           WHERE q.state = 'queued' AND q.model LIKE $1 AND NOT EXISTS (SELECT 1 FROM training_jobs r WHERE r.model = q.model AND r.state = 'running')
           ORDER BY q.created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING ${COLS}`,
      [this.pattern, this.owner],
    ).catch((err: unknown) => {
      // Two trainers claimed jobs of one model at once: the unique index refused the second; it retries later.
      if ((err as { code?: string }).code === '23505') return { rows: [] };
      throw err;
    });
    return rows[0] === undefined ? undefined : toJob(rows[0]);
  }

  update(job: OwnedJob, patch: { progress?: number; stage?: string; version?: ModelVersion }, announce: Announcement[] = []): Promise<void> {
    return this.announcing(async (tx) => {
      const r = await tx.query(
        `UPDATE training_jobs SET progress = COALESCE($4, progress), stage = COALESCE($5, stage), version = COALESCE($6, version), heartbeat_at = now() WHERE ${OWNED}`,
        [...ownedParams(job), patch.progress ?? null, patch.stage ?? null, patch.version ?? null],
      );
      if (r.rowCount !== 1) throw refused(job, `recording stage ${patch.stage ?? '(progress)'}`);
      return { out: undefined, announce };
    });
  }

  async heartbeat(job: OwnedJob): Promise<void> {
    const r = await this.pool.query(`UPDATE training_jobs SET heartbeat_at = now() WHERE ${OWNED}`, ownedParams(job));
    if (r.rowCount !== 1) throw refused(job, 'its heartbeat');
  }

  finish(job: OwnedJob, state: 'succeeded' | 'failed' | 'rejected', patch: { reason?: string; version?: ModelVersion; metrics?: Metrics }, announce: Announcement[] = []): Promise<void> {
    return this.announcing(async (tx) => {
      await this.finishIn(tx, job, state, patch);
      return { out: undefined, announce };
    });
  }

  private async finishIn(tx: PoolClient, job: OwnedJob, state: 'succeeded' | 'failed' | 'rejected', patch: { reason?: string; version?: ModelVersion; metrics?: Metrics }): Promise<void> {
    const r = await tx.query(
      `UPDATE training_jobs SET state = $4, reason = $5, version = COALESCE($6, version), metrics = COALESCE($7, metrics), finished_at = now(),
              progress = CASE WHEN $4 = 'succeeded' THEN 1 ELSE progress END
        WHERE ${OWNED}`,
      [...ownedParams(job), state, patch.reason?.slice(0, 4000) ?? null, patch.version ?? null, patch.metrics ? JSON.stringify(patch.metrics) : null],
    );
    if (r.rowCount !== 1) throw refused(job, `marking it ${state}`);
  }

  finishAfter<T>(job: OwnedJob, work: () => Promise<T>, done: (out: T) => Finish): Promise<T> {
    return this.announcing(async (tx) => {
      // The row lock makes a takeover wait until this commits (then it finds the job finished).
      const held = await tx.query(`SELECT 1 FROM training_jobs WHERE ${OWNED} FOR UPDATE`, ownedParams(job));
      if (held.rowCount !== 1) throw refused(job, 'finishing it');
      const out = await work();
      const d = done(out);
      await this.finishIn(tx, job, d.state, d.patch);
      return { out, announce: d.announce };
    });
  }

  async takeOver(job: OwnedJob, staleAfterMs: number): Promise<Job | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE training_jobs SET owner = $2, epoch = epoch + 1, heartbeat_at = now()
        WHERE id = $1 AND epoch = $3 AND state = 'running' AND heartbeat_at < now() - make_interval(secs => $4::double precision / 1000)
        RETURNING ${COLS}`,
      [job.id, this.owner, job.epoch, staleAfterMs],
    );
    return rows[0] === undefined ? undefined : toJob(rows[0]);
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
