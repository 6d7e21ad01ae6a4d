import type * as Minio from 'minio';
import type { Pool } from '@flywheel/postgres';
import type { Redis } from '@flywheel/redis';
import { listKeys } from './isolatedBucket.js';
import { scanKeys } from './removeRedisKeys.js';

/**
 * Schemas that belong to the operator, not to tests: `public` (the CLI's default) and the operator
 * stack's fixed schema (STACK_PG_SCHEMA of @flywheel/local-stack). Their registered models' artifacts
 * are the only legitimate objects in the shared bucket.
 */
export const OPERATOR_SCHEMAS = ['public', 'flywheel'] as const;

/** Key patterns the integration tests use (isolatedPlatform's `t-`, and older per-file prefixes). */
export const TEST_REDIS_PATTERNS = ['t-*', 'itest-*', 'abr-*', 'dm-*', 'fwtest-*'] as const;

/** What tests left on the shared platform; every list empty means clean. */
export interface Leftovers {
  /**
   * Tables in `public` that hold rows (the operator's schema: tests must never write there). The
   * `*_migrations` bookkeeping tables are left out: the operator CLI and services migrate public.
   */
  publicRows: { table: string; rows: number }[];
  /** Objects in the shared bucket of no model registered in an operator schema, counted per `models/<model>/` (or first path segment). */
  sharedObjects: { prefix: string; objects: number }[];
  /** Schemas besides the operator's and the system ones (tests drop theirs at the end). */
  schemas: string[];
  /** Buckets besides the shared one (tests remove theirs at the end). */
  buckets: string[];
  /** Redis keys with a test prefix, counted per prefix (up to the first ':'). */
  redisKeys: { prefix: string; keys: number }[];
}

const countBy = (keys: readonly string[], group: (k: string) => string): { prefix: string; n: number }[] => {
  const m = new Map<string, number>();
  for (const k of keys) m.set(group(k), (m.get(group(k)) ?? 0) + 1);
  return [...m].sort(([a], [b]) => a.localeCompare(b)).map(([prefix, n]) => ({ prefix, n }));
};

/** Looks at PostgreSQL, S3 and Redis for anything a test run left behind. */
export const findLeftovers = async (deps: { pool: Pool; s3: Minio.Client; sharedBucket: string; redis: Redis }): Promise<Leftovers> => {
  const tables = await deps.pool.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name NOT LIKE '%\\_migrations' ORDER BY 1`,
  );
  const publicRows: Leftovers['publicRows'] = [];
  for (const { name } of tables.rows) {
    const r = await deps.pool.query<{ n: string }>(`SELECT count(*) AS n FROM public."${name.replace(/"/g, '""')}"`);
    const rows = Number(r.rows[0]?.n ?? 0);
    if (rows > 0) publicRows.push({ table: name, rows });
  }
  const schemas = (await deps.pool.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE nspname <> ALL($1) AND nspname <> 'information_schema' AND nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
    [OPERATOR_SCHEMAS],
  )).rows.map((r) => r.name);

  const operatorModels = new Set<string>();
  for (const schema of OPERATOR_SCHEMAS) {
    const exists = await deps.pool.query('SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2', [schema, 'registry_models']);
    if (exists.rowCount === 0) continue;
    for (const r of (await deps.pool.query<{ model: string }>(`SELECT model FROM "${schema}".registry_models`)).rows) operatorModels.add(r.model);
  }
  const shared = ((await deps.s3.bucketExists(deps.sharedBucket)) ? await listKeys(deps.s3, deps.sharedBucket) : [])
    .filter((k) => !operatorModels.has(/^models\/([^/]+)\//.exec(k)?.[1] ?? ''));
  const sharedObjects = countBy(shared, (k) => k.split('/').slice(0, k.startsWith('models/') ? 2 : 1).join('/') + '/').map(({ prefix, n }) => ({ prefix, objects: n }));
  const buckets = (await deps.s3.listBuckets()).map((b) => b.name).filter((b) => b !== deps.sharedBucket).sort();

  const keys = (await Promise.all(TEST_REDIS_PATTERNS.map((p) => scanKeys(deps.redis, p)))).flat();
  const redisKeys = countBy([...new Set(keys)], (k) => k.split(':')[0] ?? k).map(({ prefix, n }) => ({ prefix, keys: n }));
  return { publicRows, sharedObjects, schemas, buckets, redisKeys };
};

/** A report for a person: what was found and how to remove it. */
export const describeLeftovers = (l: Leftovers, sharedBucket: string): string[] => {
  const out: string[] = [];
  if (l.publicRows.length > 0) {
    out.push(`public schema holds Flywheel rows (a test wrote outside its private schema):`);
    for (const t of l.publicRows) out.push(`  public.${t.table}: ${t.rows} rows`);
  }
  if (l.sharedObjects.length > 0) {
    out.push(`shared bucket ${sharedBucket} holds objects of no operator model (a test wrote outside its own bucket):`);
    for (const o of l.sharedObjects) out.push(`  ${o.prefix}: ${o.objects} objects`);
  }
  if (l.schemas.length > 0) out.push(`schemas left behind (DROP SCHEMA ... CASCADE): ${l.schemas.join(', ')}`);
  if (l.buckets.length > 0) out.push(`buckets left behind (empty and delete them): ${l.buckets.join(', ')}`);
  if (l.redisKeys.length > 0) {
    out.push(`Redis keys with test prefixes left behind (redis-cli --scan --pattern 'PREFIX:*' | xargs -r redis-cli del):`);
    for (const k of l.redisKeys) out.push(`  ${k.prefix}: ${k.keys} keys`);
  }
  return out;
};
