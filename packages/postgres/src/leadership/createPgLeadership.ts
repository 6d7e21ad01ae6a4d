import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '@flywheel/runtime';

export interface PgLeadershipOptions {
  /** Where the leader's session comes from: a dedicated client taken out of this pool for as long as it leads … */
  pool?: pg.Pool;
  /** … or its own connection (preferred: a busy pool cannot starve it). One of the two. */
  connectionString?: string;
  /** What is led, e.g. `${schema}.ab-router`: contenders with the same key elect one leader. */
  key: string;
  logger: Logger;
  /** Called when this process gains or loses leadership (for a gauge). */
  onChange?: (leader: boolean) => void;
  /** A check whose query takes longer than this counts as a lost session (default 5 s). */
  checkTimeoutMs?: number;
}

/** One leader among the processes sharing a key, for as long as its session lives. */
export interface PgLeadership {
  /**
   * Tries to become (or confirms it still is) the leader; call it before each round of leader-only
   * work. A session that errs, ends or does not answer is lost leadership: the next check reconnects
   * and contends again.
   */
  check(): Promise<boolean>;
  /** What the last check found; work that runs between checks reads it. */
  isLeader(): boolean;
  /** Gives up leadership (unlocks and ends the session). */
  close(): Promise<void>;
}

/** The two int4 keys of an advisory lock, from a string (the two-key space never meets the one-bigint locks of runMigrations). */
const lockKeys = (key: string): [number, number] => {
  const h = createHash('sha256').update(`flywheel.leadership:${key}`).digest();
  return [h.readInt32BE(0), h.readInt32BE(4)];
};

/**
 * Whether some session leads `key` now (holds its lock), without contending: a transaction-scoped
 * try-lock that is released at once when it succeeds. For "is the owner of this work still alive?".
 */
export const isLeadershipHeld = async (pool: pg.Pool, key: string): Promise<boolean> => {
  const [k1, k2] = lockKeys(key);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1::int, $2::int) AS free', [k1, k2]);
    return rows[0]?.free !== true;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
};

type Session = { client: pg.ClientBase; end: () => Promise<void> };

/**
 * Leader election on a PostgreSQL session advisory lock: pg_try_advisory_lock on a dedicated
 * session. The lock lives exactly as long as the session, so a leader that crashes, is partitioned
 * or has its backend terminated loses it without any lease to expire, and the database grants it
 * to the next contender. Each check also asks pg_locks whether this session still holds it, so a
 * dead session is found at the next check even when the client has not seen an error yet.
 */
export const createPgLeadership = (opts: PgLeadershipOptions): PgLeadership => {
  if (!opts.pool === !opts.connectionString) throw new Error('createPgLeadership needs exactly one of pool or connectionString');
  const [k1, k2] = lockKeys(opts.key);
  const log = opts.logger.child({ component: 'leadership', key: opts.key });
  const timeoutMs = opts.checkTimeoutMs ?? 5_000;
  let session: Session | undefined;
  let leader = false;
  let closed = false;

  const setLeader = (now: boolean): void => {
    if (now === leader) return;
    leader = now;
    log.warn(now ? 'became the leader' : 'lost leadership');
    opts.onChange?.(now);
  };

  const drop = async (s: Session): Promise<void> => {
    if (session === s) session = undefined;
    setLeader(false);
    await s.end().catch(() => undefined);
  };

  const open = async (): Promise<Session> => {
    let s: Session;
    if (opts.pool) {
      const c = await opts.pool.connect();
      // Destroyed, not returned: the session (and the lock with it) must end with leadership.
      s = { client: c, end: async () => c.release(true) };
    } else {
      const c = new pg.Client({ connectionString: opts.connectionString, keepAlive: true, keepAliveInitialDelayMillis: 5_000, query_timeout: timeoutMs, application_name: `flywheel-leader:${opts.key}`.slice(0, 63) });
      await c.connect();
      s = { client: c, end: () => c.end() };
    }
    // The server ending the session (pg_terminate_backend, restart) or the network failing: leadership is gone now.
    s.client.on('error', (err: Error) => {
      log.warn({ err }, 'leader session failed');
      void drop(s);
    });
    return s;
  };

  const withTimeout = <T>(p: Promise<T>): Promise<T> =>
    Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`leadership check took over ${timeoutMs} ms`)), timeoutMs).unref())]);

  const check = async (): Promise<boolean> => {
    if (closed) return false;
    let s = session;
    try {
      if (!s) {
        s = await withTimeout(open());
        session = s;
      }
      const { rows } = await withTimeout(s.client.query<{ held: boolean }>(
        leader
          ? `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = ($1::int)::oid AND objid = ($2::int)::oid AND objsubid = 2 AND granted) AS held`
          : 'SELECT pg_try_advisory_lock($1::int, $2::int) AS held',
        [k1, k2],
      ));
      setLeader(rows[0]?.held === true);
      return leader;
    } catch (err) {
      log.warn({ err }, 'leadership check failed; not the leader until a check succeeds');
      if (s) await drop(s);
      return false;
    }
  };

  const close = async (): Promise<void> => {
    closed = true;
    const s = session;
    if (!s) return;
    if (leader) await withTimeout(s.client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [k1, k2])).catch(() => undefined);
    await drop(s);
  };

  return { check, isLeader: () => leader, close };
};
