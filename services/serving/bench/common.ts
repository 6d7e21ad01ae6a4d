/**
 * Shared bench plumbing: real stores (platform.env), a model of the reference shape in the registry,
 * serving in this process, and HTTP load from a separate process (autocannon) over loopback.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaBus, type Bus } from '@flywheel/bus';
import { existsSync } from 'node:fs';
import { readExamples, type Example, type TrainingState } from '@flywheel/learning';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool, withSearchPath, type Pool } from '@flywheel/postgres';
import { createRedis, RedisDedupe, type Redis } from '@flywheel/redis';
import { removeRedisKeys } from '@flywheel/testing';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { createLogger, createMetricsRegistry, type Logger } from '@flywheel/runtime';
import type { PredictionPublisher } from '../src/PredictionLog.js';
import { servingEnv, startInProcessServing, TEST_ADMIN_TOKEN, type InProcessServing } from '../src/testing/inProcessServing.js';
import { publishVersion, REFERENCE_OPTIONS, trainState } from '../src/testing/modelFixtures.js';

const here = dirname(fileURLToPath(import.meta.url));
const autocannonBin = join(here, '..', 'node_modules', '.bin', 'autocannon');

export const need = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run through scripts/bench.sh (it sources .flywheel/platform.env)`);
  return v;
};

export interface Platform {
  logger: Logger;
  pool: Pool;
  redis: Redis;
  bus: Bus;
  registry: PgRegistry;
  artifacts: MinioArtifactStore;
  run: string;
  redisPrefix: string;
  topicPrefix: string;
  /** The PostgreSQL schema of this run (dropped on close). */
  schema: string;
  close(): Promise<void>;
}

/** Clients on the local platform, isolated by a run id (topic prefix, Redis prefix, model names). */
export const connectPlatform = async (name: string): Promise<Platform> => {
  const run = randomUUID().slice(0, 8);
  const logger = createLogger({ service: name, level: 'warn' });
  // A schema of its own, dropped on close: the registry's history is append-only, so rows in public could never be removed.
  const schema = `${name.replace(/-/g, '_')}_${run}`;
  const admin = createPool(need('POSTGRES_URL'), { max: 1 });
  await admin.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  const pool = createPool(withSearchPath(need('POSTGRES_URL'), schema), { max: 4 });
  await migrateRegistry(pool);
  const store = await MinioObjectStore.fromSettings({ endpoint: need('S3_ENDPOINT'), accessKey: need('S3_ACCESS_KEY'), secretKey: need('S3_SECRET_KEY'), bucket: process.env.S3_BUCKET ?? 'flywheel' });
  const redis = createRedis(need('REDIS_URL'));
  const redisPrefix = `${name}-${run}`;
  const topicPrefix = `${name}-${run}.`;
  const bus = createKafkaBus({
    brokers: need('KAFKA_BROKERS').split(','), clientId: `${name}-${run}`, logger, metrics: createMetricsRegistry(`${name}-bus`),
    dedupe: new RedisDedupe(redis, { prefix: redisPrefix }), topicPrefix,
  });
  return {
    logger, pool, redis, bus, run, redisPrefix, topicPrefix, schema,
    registry: new PgRegistry(pool),
    artifacts: new MinioArtifactStore(store),
    // A bench leaves nothing behind on the shared platform: its models' registry rows and artifacts, its Redis keys.
    close: async () => {
      await bus.close();
      const models = (await pool.query<{ model: string }>('SELECT model FROM registry_models')).rows.map((r) => r.model);
      for (const model of models) await store.remove(await store.list(`models/${model}/`));
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
      await removeRedisKeys(redis, `${redisPrefix}*`);
      await redis.quit();
    },
  };
};

/** Product-like texts over 30 labels: each row has 4 label words among 8 shared words (~12 tokens, like a product title). */
export const benchExamples = (rows: number, seed = 1, labelCount = 30): Example[] => {
  let s = seed >>> 0;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const out: Example[] = [];
  for (let i = 0; i < rows; i++) {
    const label = `category-${i % labelCount}`;
    const words: string[] = [];
    for (let k = 0; k < 4; k++) words.push(`c${i % labelCount}w${rnd(40)}`);
    for (let k = 0; k < 8; k++) words.push(`shared${rnd(2000)}`);
    out.push({ text: words.join(' '), label, group: `g${i}` });
  }
  return out;
};

const FLIPKART = process.env.FLIPKART_CSV ?? '/work/shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv';

/**
 * Product titles labelled with their top-level category (19,672 rows, 32 labels) when the shared
 * Flipkart sample is present; otherwise synthetic product-like rows over 30 labels.
 */
export const productExamples = async (): Promise<{ examples: Example[]; source: string }> => {
  if (existsSync(FLIPKART)) {
    const examples = await readExamples(FLIPKART, { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 });
    return { examples, source: 'flipkart-products' };
  }
  return { examples: benchExamples(20_000), source: 'synthetic' };
};

/** Trains the reference shape (embedding bag 128 → 256 → ~30 labels) quickly: a slice of the data, one epoch. */
export const referenceModel = async (examples: readonly Example[], rows = 3_000): Promise<{ state: TrainingState; seconds: number }> => {
  // Every label must be present in the slice: take rows round-robin over labels.
  const byLabel = new Map<string, Example[]>();
  for (const e of examples) byLabel.set(e.label, [...(byLabel.get(e.label) ?? []), e]);
  const slice: Example[] = [];
  for (let i = 0; slice.length < rows && i < examples.length; i++) {
    for (const list of byLabel.values()) if (list[i] !== undefined && slice.length < rows) slice.push(list[i] as Example);
  }
  return trainState(slice, { ...REFERENCE_OPTIONS, epochs: 1 });
};

/** Registers versions (first = champion, others registered) of one state under a fresh model name. */
export const publishModel = async (p: Platform, model: string, state: TrainingState, versions: readonly string[]) => {
  for (const [i, version] of versions.entries()) {
    await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version, state, role: i === 0 ? 'champion' : 'registered' });
  }
};

/** Serving in this process, composed as main.ts composes it, on the platform's stores and prefixes. */
export const serveModel = (p: Platform, model: string, opts: { intraOpThreads?: number; fastPath?: boolean; publisher?: PredictionPublisher } = {}): Promise<InProcessServing> =>
  startInProcessServing({
    ...servingEnv({
      schema: p.schema, redisPrefix: p.redisPrefix, topicPrefix: p.topicPrefix, env: process.env,
      s3: { endpoint: need('S3_ENDPOINT'), accessKey: need('S3_ACCESS_KEY'), secretKey: need('S3_SECRET_KEY'), bucket: process.env.S3_BUCKET ?? 'flywheel' },
    }),
    LOG_LEVEL: 'warn', SERVING_MODELS: model, SERVING_FOLLOW_ALL: 'false', SERVING_GROUP_ID: `serving-bench-${p.run}-${randomUUID().slice(0, 4)}`,
    // The bench measures serving, not the per-client limit: one client (the admin token) sends everything.
    PREDICT_RATE_LIMIT_PER_MINUTE: '1000000000',
    RELEASE_GRACE_MS: '1000', SERVING_FAST_PATH: String(opts.fastPath ?? true), ONNX_INTRA_OP_THREADS: String(opts.intraOpThreads ?? 1),
  }, opts.publisher ? { publisher: opts.publisher } : {});

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  total: number;
  ok: number;
  failed: number;
  seconds: number;
}

/**
 * Runs autocannon in a child process (so the load generator does not share the server's event
 * loop). `rate` caps the total requests per second.
 */
export const load = (url: string, body: unknown, opts: { connections: number; seconds: number; rate?: number; method?: 'POST' | 'GET' }): Promise<LoadResult> =>
  new Promise((resolve, reject) => {
    const args = ['-j', '-c', String(opts.connections), '-d', String(opts.seconds), '-m', opts.method ?? 'POST', '-H', 'content-type=application/json', '-H', `authorization=Bearer ${TEST_ADMIN_TOKEN}`];
    if (body !== undefined) args.push('-b', JSON.stringify(body));
    if (opts.rate !== undefined) args.push('-R', String(opts.rate));
    args.push(url);
    execFile(autocannonBin, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(err);
      const r = JSON.parse(stdout) as {
        requests: { average: number; total: number }; latency: { p50: number; p99: number; p99_9?: number; p999?: number };
        errors: number; timeouts: number; non2xx: number; '2xx': number; duration: number;
      };
      resolve({
        requestsPerSecond: r.requests.average,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        p999Ms: r.latency.p99_9 ?? r.latency.p999 ?? Number.NaN,
        total: r.requests.total,
        ok: r['2xx'],
        failed: r.errors + r.timeouts + r.non2xx,
        seconds: r.duration,
      });
    });
  });

/**
 * Load at a steady rate: `workers` connections, each sending one request every 1/`perWorker` s
 * (hey's -q; a worker whose answer is late skips the ticks it missed). autocannon's rate option is
 * not this: each connection sends its whole second's quota back to back as soon as the second
 * starts, so "-R 2000" is a burst of 2,000 requests at full speed, then a pause. Latencies here are
 * every answer's own (hey's CSV output), so the percentiles are exact; `requestsPerSecond` below
 * the target says the server fell behind (missed ticks are requests never sent).
 */
export const paced = (url: string, body: unknown, opts: { workers: number; perWorker: number; seconds: number }): Promise<LoadResult & { targetRate: number }> =>
  new Promise((resolve, reject) => {
    const args = ['-z', `${opts.seconds}s`, '-c', String(opts.workers), '-q', String(opts.perWorker), '-m', 'POST', '-T', 'application/json',
      '-H', `authorization: Bearer ${TEST_ADMIN_TOKEN}`, '-d', JSON.stringify(body), '-o', 'csv', url];
    execFile('hey', args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(new Error(`hey failed (${err.message}); it is installed by scripts/setup.sh (apt package hey)`, { cause: err }));
      // response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
      const lines = stdout.split('\n').slice(1).filter((l) => l.length > 0);
      const ms: number[] = [];
      let failed = 0;
      let lastOffset = 0;
      for (const l of lines) {
        const f = l.split(',');
        if (f[6] !== '200') failed++;
        else ms.push(Number(f[0]) * 1000);
        lastOffset = Math.max(lastOffset, Number(f[7]));
      }
      ms.sort((a, b) => a - b);
      const q = (p: number) => round(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))] ?? Number.NaN, 2);
      const seconds = Math.max(lastOffset, opts.seconds);
      resolve({
        requestsPerSecond: lines.length / seconds, p50Ms: q(0.5), p99Ms: q(0.99), p999Ms: q(0.999),
        total: lines.length, ok: ms.length, failed, seconds, targetRate: opts.workers * opts.perWorker,
      });
    });
  });

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Prints rows as an aligned table. */
export const table = (rows: Record<string, string | number>[]): void => {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(width[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c] ?? ''))));
};
