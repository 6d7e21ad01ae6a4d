import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface PoolOptions {
  max?: number;
  applicationName?: string;
  /** Server-side cap on one statement (default 60 s): a stuck query fails instead of holding a connection for good. */
  statementTimeoutMs?: number;
  /** A session left idle inside a transaction is ended by the server after this (default 60 s). */
  idleInTransactionTimeoutMs?: number;
  /** Giving up on a new connection (default 10 s): the caller sees DependencyDown and retries. */
  connectTimeoutMs?: number;
}

/**
 * A PostgreSQL pool; `max` bounds connections per process. TCP keepalive finds a half-open
 * connection (a server that vanished without a FIN) instead of letting the relay or a consumer hang
 * on it; the statement and idle-in-transaction timeouts bound what one bad session can hold.
 */
export const createPool = (connectionString: string, opts: PoolOptions = {}): pg.Pool => {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'flywheel',
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    statement_timeout: opts.statementTimeoutMs ?? 60_000,
    idle_in_transaction_session_timeout: opts.idleInTransactionTimeoutMs ?? 60_000,
  });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  // Nor a checked-out client's between two queries (a transaction awaiting Redis when PostgreSQL
  // restarts): its next query fails, and the pool drops it on release because it is not queryable.
  pool.on('connect', (client) => { client.on('error', () => {}); });
  return pool;
};

/** Runs fn inside BEGIN/COMMIT; rolls back and rethrows on error. */
export const withTransaction = async <T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
};

/** A connection string whose sessions use `schema` first, so one database can hold isolated copies (tests, benches, stacks). */
export const withSearchPath = (url: string, schema: string): string => {
  if (schema === 'public') return url;
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
};
