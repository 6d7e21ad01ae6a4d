import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { findRepoRoot, readPlatformEnv, startLocalStack, type LocalStack, type LocalStackOptions, type ServiceName } from '@flywheel/local-stack';
import { cleanUpAll, isolatedBucket } from '@flywheel/testing';
import { startPrivateKafka, type PrivateKafka } from './privateKafka.js';
import { startPrivateRedis, type PrivateRedis } from './privateRedis.js';
import { syntheticCorpus, toJsonl, type SyntheticCorpus } from './syntheticCorpus.js';
import { waitFor } from './waitFor.js';

/** One test file's world: a stack on a private Redis, a unique model bootstrapped and served. */
export interface E2eWorld {
  readonly stack: LocalStack;
  readonly model: string;
  readonly corpus: SyntheticCorpus;
  readonly redis: PrivateRedis;
  /** Set with `privateKafka: true`: the stack's own mock broker, which the test may pause. */
  readonly kafka: PrivateKafka | undefined;
  /** For assertions on the real tables (read-only use). */
  readonly pool: pg.Pool;
  readonly workDir: string;
  /** The PostgreSQL schema every service of this stack uses (first on its search_path). */
  readonly schema: string;
  /** The S3 bucket every service of this stack uses (S3_BUCKET; emptied and removed on close). */
  readonly bucket: string;
  /** The version `flywheel bootstrap` registered as champion. */
  readonly baseVersion: string;
  /** Stops the stack, Redis and the pool, drops the schema and removes the bucket (idempotent enough for afterAll). */
  close(): Promise<void>;
}

/**
 * Small thresholds so the loop turns in about a minute: 20 corrections trigger, 100 outcomes per
 * arm decide, the router evaluates every second.
 */
/** Crashed members leave their consumer groups in seconds, not the production 30-60 s. */
export const FAST_FAILOVER_ENV = { KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_REBALANCE_TIMEOUT_MS: '10000' };

export const SMALL_LOOP_ENV: Partial<Record<ServiceName, Record<string, string>>> = {
  'feedback-ingest': { RETRAIN_CORRECTION_THRESHOLD: '20', RELAY_IDLE_POLL_MS: '50' },
  aggregator: { RETRAIN_CORRECTION_THRESHOLD: '20', SWEEP_INTERVAL_MS: '500' },
  trainer: { GATE_MAX_FORGETTING: '0.15', GATE_MIN_IMPROVEMENT: '-0.05', JOB_STALE_AFTER_MS: '8000' },
  'ab-router': {
    EVAL_INTERVAL_MS: '1000', SPLIT_BPS: '5000', MIN_SAMPLE_PER_ARM: '100',
    HEALTH_WINDOW: '80', HEALTH_MIN_SAMPLES: '40', HEALTH_MAX_ACCURACY_DROP: '0.15',
  },
  serving: { RELEASE_GRACE_MS: '500' },
};

const mergeEnv = (...layers: (Partial<Record<ServiceName, Record<string, string>>> | undefined)[]): Partial<Record<ServiceName, Record<string, string>>> => {
  const out: Partial<Record<ServiceName, Record<string, string>>> = {};
  for (const layer of layers) {
    for (const [svc, env] of Object.entries(layer ?? {}) as [ServiceName, Record<string, string>][]) out[svc] = { ...(out[svc] ?? {}), ...env };
  }
  return out;
};

/**
 * Starts the services on a private redis-server (so a test may FLUSHALL it), a private
 * PostgreSQL schema and a private S3 bucket (both removed on close), bootstraps a unique model from the synthetic corpus with `flywheel bootstrap`,
 * and waits until serving answers for it.
 *
 * Why a private schema: unique model names are not enough on a shared database. The
 * feedback-ingest outbox relay publishes every unpublished row of its table to its own topic
 * prefix, and the ab-router scans every model in its tables, so two stacks on one `public` schema
 * publish and judge each other's data (seen here: accepted feedback reaching another stack's topic).
 */
export const startE2eWorld = async (name: string, o: Omit<LocalStackOptions, 'logDir'> & { bootstrap?: boolean; privateKafka?: boolean } = {}): Promise<E2eWorld> => {
  const workDir = mkdtempSync(join(tmpdir(), `flywheel-e2e-${name}-`));
  const suffix = Math.random().toString(16).slice(2, 8);
  const runId = `${name}-${suffix}`;
  const schema = `e2e_${runId.replace(/-/g, '_')}`;
  const model = `e2e-${runId}`;
  const corpus = syntheticCorpus();
  const platform = o.platformEnv ?? readPlatformEnv(o.root ?? findRepoRoot());
  const baseUrl = platform.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  // Artifacts are always `models/<model>/...`: a bucket of the stack's own keeps them out of the shared one.
  const objects = isolatedBucket(`e2e-${name}`, suffix, () => ({
    endpoint: platform.S3_ENDPOINT ?? 'http://127.0.0.1:9000', accessKey: platform.S3_ACCESS_KEY ?? 'S3RVER', secretKey: platform.S3_SECRET_KEY ?? 'S3RVER',
  }));
  const redis = await startPrivateRedis();
  const kafka = o.privateKafka ? await startPrivateKafka() : undefined;
  let stack: LocalStack | undefined;
  let pool: pg.Pool | undefined;
  let closed: Promise<void> | undefined;
  // Every step is tried; whatever could not be removed fails close() by name, never silently.
  const removeAll = (): Promise<void> => cleanUpAll(`e2e world ${runId} left things behind`, [
    ['stop the services', async () => stack?.stopAll()],
    ['stop the private Redis', () => redis.stop()],
    ['stop the private Kafka', async () => kafka?.stop()],
    ['close the pool', async () => pool?.end()],
    // The schema and bucket hold only this run's data; leave nothing behind on the shared platform.
    [`drop schema ${schema} (DROP SCHEMA ${schema} CASCADE)`, async () => {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
    }],
    [`remove bucket ${objects.bucket}`, () => objects.drop()],
  ]);
  const close = (): Promise<void> => (closed ??= removeAll());
  try {
    stack = await startLocalStack({
      ...o,
      runId,
      pgSchema: schema,
      platformEnv: { ...platform, ...(kafka ? { KAFKA_BROKERS: kafka.brokers } : {}), S3_BUCKET: objects.settings.bucket },
      logDir: join(workDir, 'logs'),
      commonEnv: { ...FAST_FAILOVER_ENV, ...(o.commonEnv ?? {}), REDIS_URL: redis.url },
      env: mergeEnv(SMALL_LOOP_ENV, o.env),
    });
    pool = new pg.Pool({ connectionString: stack.platformEnv.POSTGRES_URL, max: 3 });
    let baseVersion = '';
    if (o.bootstrap !== false) {
      const file = join(workDir, 'base.jsonl');
      writeFileSync(file, toJsonl(corpus.base));
      const { stdout } = await stack.cli(['bootstrap', '--model', model, '--data', file, '--format', 'jsonl', '--reason', 'e2e base model'], { timeoutMs: 180_000 });
      baseVersion = /@(\d+\.\d+\.\d+) is champion/.exec(stdout)?.[1] ?? '';
      if (baseVersion === '') throw new Error(`flywheel bootstrap did not say which version is champion:\n${stdout}`);
      const s = stack;
      if (s.services.includes('serving')) {
        await waitFor(`serving to answer for ${model}`, async () => (await s.api.serving.predict(model, corpus.base[0]?.text ?? 'x', 'warmup')).modelVersion === baseVersion || undefined, { timeoutMs: 60_000, intervalMs: 300 });
      }
    }
    return { stack, model, corpus, redis, kafka, pool, workDir, schema, bucket: objects.bucket, baseVersion, close };
  } catch (err) {
    await close().catch((closeErr: unknown) => { throw new AggregateError([err, closeErr], `e2e world ${runId} failed to start, then failed to clean up`); });
    throw err;
  }
};
