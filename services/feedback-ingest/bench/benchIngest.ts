// Bench of the feedback path: starts feedback-ingest and the aggregator (built dist/, own schema,
// topic and Redis prefixes), drives the REST API from this separate process over loopback with
// keep-alive, and prints a table and one JSON line. Run from the repo root: pnpm bench:ingest
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { Redis } from 'ioredis';

const root = process.cwd();
const platform = Object.fromEntries(
  readFileSync(join(root, '.flywheel/platform.env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
) as Record<string, string>;
const need = (k: string): string => platform[k] ?? (() => { throw new Error(`${k} missing from .flywheel/platform.env; run bash scripts/platform.sh up`); })();

const run = randomUUID().slice(0, 8);
const schema = `bench_${run}`;
const topicPrefix = `bench-${run}-`;
const redisPrefix = `bench-${run}`;
const ADMIN = 'bench-admin-token-0123456789';
const SINGLE_SECONDS = Number(process.env.BENCH_SINGLE_SECONDS ?? 8);
const BATCH_SECONDS = Number(process.env.BENCH_BATCH_SECONDS ?? 6);
const HALF_SECONDS = Number(process.env.BENCH_HALF_SECONDS ?? 5);
const CEILING_SECONDS = Number(process.env.BENCH_CEILING_SECONDS ?? 4);
/** The service's pool size (PG_POOL_SIZE), and the ceiling's: the same number of PostgreSQL connections. */
const POOL = Number(process.env.BENCH_PG_POOL_SIZE ?? 10);
const SINGLE_CONNS = 32;
const BATCH_CONNS = 8;
const HALF_RATE_P99_GOAL_MS = 25;

const freePort = (): Promise<number> => new Promise((res, rej) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port')))); });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], q: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const children: ChildProcess[] = [];
const childLogs: string[] = [];
const startService = (svc: string, env: Record<string, string>): ChildProcess => {
  // The API runs with its own relay; the bench process is the only client.
  // BENCH_CPU_PROF_DIR=<dir>: the services write V8 CPU profiles there (node --cpu-prof) when they exit.
  const prof = process.env.BENCH_CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`, `--cpu-prof-name=${svc}.cpuprofile`] : [];
  const c = spawn(process.execPath, [...prof, join(root, 'services', svc, 'dist/main.js')], { env: { ...process.env, ...platform, ...env, PG_SCHEMA: schema, TOPIC_PREFIX: topicPrefix, REDIS_PREFIX: redisPrefix, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  // Kept quiet so the JSON stays the last line; shown when the bench fails.
  c.stderr?.on('data', (b: Buffer) => { childLogs.push(`[${svc}] ${b.toString()}`); if (childLogs.length > 200) childLogs.shift(); });
  children.push(c);
  return c;
};
const waitHttp = async (url: string, ms = 60_000): Promise<void> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try { if ((await fetch(url)).ok) return; } catch { /* not up yet */ }
    await sleep(200);
  }
  throw new Error(`${url} did not answer in ${ms} ms`);
};

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
let port = 0;
const post = (path: string, body: string): Promise<{ status: number; ms: number }> => new Promise((resolve, reject) => {
  const t = process.hrtime.bigint();
  const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${ADMIN}` } }, (res) => {
    res.resume();
    res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Number(process.hrtime.bigint() - t) / 1e6 }));
  });
  req.on('error', reject);
  req.end(body);
});

const item = (model: string, i: number) => ({ model, text: `bench text number ${i} about a late parcel and a refund`, kind: i % 3 === 0 ? 'confirmation' : 'misclassification', predictedLabel: 'low', correctLabel: i % 3 === 0 ? 'low' : 'high', metadata: { bench: run } });

/** Registers a model with a champion knowing the bench's labels: feedback-ingest refuses unregistered models (404). */
const registerModel = async (pool: pg.Pool, model: string): Promise<void> => {
  await pool.query(`INSERT INTO ${schema}.registry_models (model) VALUES ($1) ON CONFLICT DO NOTHING`, [model]);
  await pool.query(
    `INSERT INTO ${schema}.registry_versions (model, version, major, minor, patch, status, base_version, labels, artifact)
     VALUES ($1, '1.0.0', 1, 0, 0, 'champion', 'bench', '["low","high"]', $2) ON CONFLICT DO NOTHING`,
    [model, JSON.stringify({ bucket: 'bench', prefix: model, manifestKey: `${model}/manifest.json`, sha256: '0'.repeat(64) })],
  );
};

/** Closed loop: `conns` workers send back to back until `seconds` pass. */
const closedLoop = async (conns: number, seconds: number, path: string, body: (i: number) => string, itemsPer: number) => {
  const lat: number[] = [];
  let errors = 0;
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const start = Date.now();
  await Promise.all(Array.from({ length: conns }, async () => {
    while (Date.now() < end) {
      const r = await post(path, body(n++));
      if (r.status === 202) lat.push(r.ms); else errors++;
    }
  }));
  const elapsed = (Date.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { requestsPerSec: lat.length / elapsed, itemsPerSec: (lat.length * itemsPer) / elapsed, p50: pct(lat, 0.5), p99: pct(lat, 0.99), errors, requests: lat.length };
};

/** Open loop at a fixed rate: latency as a caller sees it when the service is not saturated. */
const openLoop = async (rate: number, seconds: number, path: string, body: (i: number) => string) => {
  const lat: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const start = Date.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 1) await sleep(wait);
    inflight.push(post(path, body(i)).then((r) => { if (r.status === 202) lat.push(r.ms); else errors++; }, () => { errors++; }));
  }
  await Promise.all(inflight);
  lat.sort((a, b) => a - b);
  return { rate, p50: pct(lat, 0.5), p99: pct(lat, 0.99), errors, requests: lat.length };
};

const CEILING_COLUMNS = 'id uuid, model text, text text, predicted_label text, correct_label text, kind text, metadata jsonb, client text, client_trust text';
const ceilingRow = (i: number) => {
  const it = item(`bench-${i % 8}-${run}`, i);
  return { id: randomUUID(), model: it.model, text: it.text, predicted_label: it.predictedLabel, correct_label: it.correctLabel, kind: it.kind, metadata: it.metadata, client: 'admin', client_trust: 'trusted' };
};
/**
 * What PostgreSQL and node-pg alone do on this machine, now: rows written into a copy of the
 * feedback table (same columns, indexes and sequence) by `conns` workers over a pool of POOL
 * connections, one row per INSERT (`rowsPer` 1) or `rowsPer` rows per INSERT (json_to_recordset,
 * as the service writes a batch). No HTTP, no validation, no outbox: the ceiling of the ingest path.
 */
const insertCeiling = async (conns: number, seconds: number, rowsPer: number) => {
  const pool = new pg.Pool({ connectionString: need('POSTGRES_URL'), max: POOL });
  const table = `"${schema}".ceiling_feedback`;
  const one = `INSERT INTO ${table} (id, model, text, predicted_label, correct_label, kind, metadata, client, client_trust) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
  const many = `INSERT INTO ${table} (id, model, text, predicted_label, correct_label, kind, metadata, client, client_trust)
    SELECT id, model, text, predicted_label, correct_label, kind, metadata, client, client_trust FROM json_to_recordset($1::json) AS r(${CEILING_COLUMNS})`;
  try {
    let rows = 0;
    let n = 0;
    const start = Date.now();
    const end = start + seconds * 1000;
    await Promise.all(Array.from({ length: conns }, async () => {
      while (Date.now() < end) {
        if (rowsPer === 1) {
          const r = ceilingRow(n++);
          await pool.query({ name: 'ceiling-one', text: one, values: [r.id, r.model, r.text, r.predicted_label, r.correct_label, r.kind, JSON.stringify(r.metadata), r.client, r.client_trust] });
        } else {
          await pool.query({ name: 'ceiling-many', text: many, values: [JSON.stringify(Array.from({ length: rowsPer }, () => ceilingRow(n++)))] });
        }
        rows += rowsPer;
      }
    }));
    return { rowsPerSec: rows / ((Date.now() - start) / 1000), connections: conns, poolSize: POOL, rowsPerInsert: rowsPer, seconds };
  } finally {
    await pool.end();
  }
};

const main = async () => {
  const loadBefore = loadavg();
  const pool = new pg.Pool({ connectionString: need('POSTGRES_URL'), max: 2 });
  const redis = new Redis(need('REDIS_URL'));
  const kafka = new Kafka({ brokers: need('KAFKA_BROKERS').split(','), clientId: `bench-${run}`, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${run}` });
  try {
    port = await freePort();
    // Created up front: migrations resolve their schema with current_schema(), which skips a schema that does not exist yet.
    await pool.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    const aggPort = await freePort();
    startService('feedback-ingest', { PORT: String(port), ADMIN_TOKEN: ADMIN, RELAY_IDLE_POLL_MS: '50', PG_POOL_SIZE: String(POOL) });
    await waitHttp(`http://127.0.0.1:${port}/readyz`);
    for (const m of [...Array.from({ length: 3 }, (_, k) => `latency-${k}-${run}`), `bench-warm-${run}`, ...Array.from({ length: 8 }, (_, i) => `bench-${i}-${run}`)]) await registerModel(pool, m);
    startService('aggregator', { PORT: String(aggPort), SWEEP_INTERVAL_MS: '1000' });
    await waitHttp(`http://127.0.0.1:${aggPort}/readyz`);

    // Trigger latency: 49 corrections, then time the 50th from send to the trigger on Kafka.
    const seen = new Map<string, number>();
    await consumer.connect();
    await consumer.subscribe({ topic: `${topicPrefix}retraining-triggers`, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => { const e = JSON.parse(message.value?.toString() ?? '{}') as { subject?: string }; if (e.subject) seen.set(e.subject, Date.now()); } });
    await sleep(4_000); // aggregator and this consumer join their groups
    const triggerMs: number[] = [];
    for (let k = 0; k < 3; k++) {
      const model = `latency-${k}-${run}`;
      for (let i = 1; i < 50; i++) await post('/v1/feedback', JSON.stringify({ ...item(model, 1), text: `correction ${i}` }));
      await sleep(1_500);
      const t0 = Date.now();
      await post('/v1/feedback', JSON.stringify({ ...item(model, 1), text: 'correction 50' }));
      const end = Date.now() + 30_000;
      while (!seen.has(model) && Date.now() < end) await sleep(2);
      triggerMs.push(seen.has(model) ? seen.get(model)! - t0 : NaN);
    }

    // The aggregator would run on its own machine; here it would compete for the same 2 cores
    // with the API it is not part of, so it stops before the throughput phases.
    const agg = children[1]!;
    agg.kill('SIGTERM');
    await new Promise((r) => agg.once('exit', r));

    // The ceilings, in this run, while the service idles: node-pg inserts into a copy of its table.
    await pool.query(`CREATE TABLE "${schema}".ceiling_feedback (LIKE "${schema}".feedback INCLUDING ALL)`);
    const ceilingSingle = await insertCeiling(SINGLE_CONNS, CEILING_SECONDS, 1);
    const ceilingMulti = await insertCeiling(BATCH_CONNS, CEILING_SECONDS, 100);
    await pool.query(`DROP TABLE "${schema}".ceiling_feedback`);

    // Warm up, then single items, batches of 100, and single items at half the measured rate.
    await closedLoop(16, 1, '/v1/feedback', (i) => JSON.stringify(item(`bench-warm-${run}`, i)), 1);
    const models = Array.from({ length: 8 }, (_, i) => `bench-${i}-${run}`);
    const single = await closedLoop(SINGLE_CONNS, SINGLE_SECONDS, '/v1/feedback', (i) => JSON.stringify(item(models[i % 8]!, i)), 1);
    const batchBody = (i: number) => JSON.stringify({ items: Array.from({ length: 100 }, (_, j) => item(models[(i + j) % 8]!, i * 100 + j)) });
    const batch = await closedLoop(BATCH_CONNS, BATCH_SECONDS, '/v1/feedback/batch', batchBody, 100);
    // Events the relay has still to publish when the half-rate phase starts (the batch phase writes faster than it relays).
    const backlog = async () => Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".flywheel_outbox WHERE published_at IS NULL`)).rows[0].n);
    const backlogBeforeHalf = await backlog();
    const half = await openLoop(Math.max(100, Math.round(single.requestsPerSec / 2)), HALF_SECONDS, '/v1/feedback', (i) => JSON.stringify(item(models[i % 8]!, i)));
    const rows = Number((await pool.query(`SELECT count(*) AS n FROM "${schema}".feedback`)).rows[0].n);
    const backlogAfterHalf = await backlog();
    console.error(`outbox backlog: ${backlogBeforeHalf} events before the half-rate phase, ${backlogAfterHalf} after`);
    const loadAfter = loadavg();
    const ratio = {
      single: +(single.requestsPerSec / ceilingSingle.rowsPerSec).toFixed(3),
      batch100: +(batch.itemsPerSec / ceilingMulti.rowsPerSec).toFixed(3),
      halfRateP99OverGoal: +(half.p99 / HALF_RATE_P99_GOAL_MS).toFixed(3),
    };

    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
    const sortedTrig = [...triggerMs].sort((a, b) => a - b);
    console.log('\nfeedback-ingest bench (loopback, keep-alive, separate process)');
    console.log('phase                         | req/s    | items/s   | p50 ms | p99 ms | errors');
    console.log('------------------------------|----------|-----------|--------|--------|-------');
    console.log(`single items, 32 conns, ${SINGLE_SECONDS}s    | ${f(single.requestsPerSec).padStart(8)} | ${f(single.itemsPerSec).padStart(9)} | ${f(single.p50, 2).padStart(6)} | ${f(single.p99, 2).padStart(6)} | ${single.errors}`);
    console.log(`batches of 100, 8 conns, ${BATCH_SECONDS}s   | ${f(batch.requestsPerSec).padStart(8)} | ${f(batch.itemsPerSec).padStart(9)} | ${f(batch.p50, 2).padStart(6)} | ${f(batch.p99, 2).padStart(6)} | ${batch.errors}`);
    console.log(`single at ${String(half.rate).padEnd(5)} req/s (open), ${HALF_SECONDS}s | ${f(half.rate).padStart(8)} | ${f(half.rate).padStart(9)} | ${f(half.p50, 2).padStart(6)} | ${f(half.p99, 2).padStart(6)} | ${half.errors}`);
    console.log(`ceiling, node-pg 1-row INSERTs, ${SINGLE_CONNS} workers, pool ${POOL}, ${CEILING_SECONDS}s: ${f(ceilingSingle.rowsPerSec)} rows/s -> single items at ${f(100 * ratio.single)}% of it`);
    console.log(`ceiling, node-pg 100-row INSERTs, ${BATCH_CONNS} workers, pool ${POOL}, ${CEILING_SECONDS}s: ${f(ceilingMulti.rowsPerSec)} rows/s -> batches at ${f(100 * ratio.batch100)}% of it`);
    console.log(`half-rate p99 ${f(half.p99, 2)} ms vs goal ${HALF_RATE_P99_GOAL_MS} ms (${ratio.halfRateP99OverGoal}x)`);
    console.log(`load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`50th correction -> trigger on retraining-triggers: ${triggerMs.map((x) => `${f(x, 0)} ms`).join(', ')} (median ${f(pct(sortedTrig, 0.5), 0)} ms)`);
    console.log(`rows written: ${rows}`);
    return JSON.stringify({
      bench: 'ingest',
      loadAverage: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadAfter.map((x) => +x.toFixed(2)) },
      ceiling: { singleRowInsertsPerSec: Math.round(ceilingSingle.rowsPerSec), multiRowInsertRowsPerSec: Math.round(ceilingMulti.rowsPerSec), poolSize: POOL, seconds: CEILING_SECONDS },
      ratio,
      single: { connections: SINGLE_CONNS, seconds: SINGLE_SECONDS, requestsPerSec: Math.round(single.requestsPerSec), p50Ms: +f(single.p50, 2), p99Ms: +f(single.p99, 2), errors: single.errors },
      batch100: { connections: BATCH_CONNS, seconds: BATCH_SECONDS, itemsPerSec: Math.round(batch.itemsPerSec), requestsPerSec: +f(batch.requestsPerSec), p50Ms: +f(batch.p50, 2), p99Ms: +f(batch.p99, 2), errors: batch.errors },
      halfRate: { seconds: HALF_SECONDS, rate: half.rate, p50Ms: +f(half.p50, 2), p99Ms: +f(half.p99, 2), errors: half.errors },
      triggerLatencyMs: { runs: triggerMs.map((x) => Math.round(x)), median: Math.round(pct(sortedTrig, 0.5)) },
      rowsWritten: rows,
    });
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => { if (c.exitCode !== null) r(null); else { c.once('exit', r); setTimeout(() => { c.kill('SIGKILL'); r(null); }, 12_000); } })));
    await consumer.disconnect().catch(() => {});
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    const keys = await redis.keys(`${redisPrefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await pool.end();
    agent.destroy();
  }
};

try {
  const json = await main();
  console.log(json);
} catch (err) {
  console.error(childLogs.join('').slice(-8000));
  console.error(err);
  process.exit(1);
}
