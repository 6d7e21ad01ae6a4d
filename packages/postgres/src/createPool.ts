import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** A PostgreSQL pool; `max` bounds connections per process. */
export const createPool = (connectionString: string, opts: { max?: number; applicationName?: string } = {}): pg.Pool => {
  const pool = new pg.Pool({ connectionString, max: opts.max ?? 10, application_name: opts.applicationName ?? 'flywheel' });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
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
