// bench:trainer — time from a retraining trigger to a registered challenger for a 20,000-row model
// (flipkart sample, top-level category) on this machine's CPU backend, through the real stores.
//   pnpm bench:trainer [--rows 20000] [--feedback 500] [--isolation thread|inline]
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKafkaBus } from '@flywheel/bus';
import { bootstrapModel } from '@flywheel/cli';
import { ModelName } from '@flywheel/contracts';
import { initBackend, readExamples, type Example } from '@flywheel/learning';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool, runMigrations } from '@flywheel/postgres';
import { createRedis, RedisDedupe, RedisLocks } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { inlineCandidateTrainer, workerCandidateTrainer } from '../src/candidateTrainer.js';
import { createTrainer } from '../src/createTrainer.js';
import { measureTriggerToChallenger } from '../src/measureTriggerToChallenger.js';
import { PgJobStore } from '../src/PgJobStore.js';
import { PgTrainingData } from '../src/PgTrainingData.js';
import { createTrainerMetrics } from '../src/trainerMetrics.js';
import { trainerMigrationsDir } from '../src/trainerMigrationsDir.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, feedback: { type: 'string', default: '500' }, isolation: { type: 'string', default: 'thread' }, 'bootstrap-epochs': { type: 'string', default: '6' } } });
const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set; run through pnpm bench:trainer (it sources .flywheel/platform.env)`);
  return v;
};
const workerUrl = new URL('../dist/trainWorker.js', import.meta.url);
// The worker runs the built file; without a build, train in this thread.
const isolation = a.isolation === 'inline' || !existsSync(fileURLToPath(workerUrl)) ? 'inline' : 'thread';
const run = randomUUID().slice(0, 8);
const model = ModelName.parse(`bench-${run}`);
const schema = `trainer_bench_${run}`;
const logger = createLogger({ service: 'trainer-bench', level: 'warn' });
const pool = createPool(env('POSTGRES_URL'));
const redis = createRedis(env('REDIS_URL'));
const locks = new RedisLocks(redis, `fwbench-${run}`);
const store = await MinioObjectStore.fromSettings({ endpoint: env('S3_ENDPOINT'), accessKey: env('S3_ACCESS_KEY'), secretKey: env('S3_SECRET_KEY'), bucket: env('S3_BUCKET') });
const artifacts = new MinioArtifactStore(store);
const registry = new PgRegistry(pool);
const bus = createKafkaBus({ brokers: env('KAFKA_BROKERS').split(','), clientId: `trainer-bench-${run}`, logger, metrics: createMetricsRegistry('bench'), dedupe: new RedisDedupe(redis), topicPrefix: `bench-${run}-` });
const backend = await initBackend();

await migrateRegistry(pool);
await runMigrations(pool, trainerMigrationsDir, { table: 'trainer_migrations' });
await runMigrations(pool, resolve(here, '../../feedback-ingest/migrations'), { schema, table: 'feedback_ingest_migrations' });

const csv = resolve(here, '../../../../shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv');
const rowsWanted = Number(a.rows);
let examples: Example[];
if (existsSync(csv)) {
  examples = (await readExamples(csv, { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 })).slice(0, rowsWanted);
} else {
  const labels = Array.from({ length: 20 }, (_, i) => `c${i}`);
  examples = Array.from({ length: rowsWanted }, (_, i) => ({ text: `${labels[i % 20]}w${i % 13} ${labels[i % 20]}v${i % 7} noise${i % 31}`, label: labels[i % 20] as string }));
}
const nFeedback = Math.min(Number(a.feedback), Math.floor(examples.length / 10));
// The last rows play the part of new traffic: corrected by people after the bootstrap.
const base = examples.slice(0, examples.length - nFeedback);
const fresh = examples.slice(examples.length - nFeedback);
const t0 = performance.now();
const boot = await bootstrapModel({ registry, artifacts }, { model, examples: base, actor: 'bench', trainOptions: { epochs: Number(a['bootstrap-epochs']) } });
const bootstrapS = (performance.now() - t0) / 1000;
for (const f of fresh) {
  await pool.query(`INSERT INTO "${schema}".feedback (id, model, text, predicted_label, correct_label, kind) VALUES ($1, $2, $3, NULL, $4, 'misclassification')`, [randomUUID(), model, f.text, f.label]);
}

const trainer = createTrainer({
  bus, jobs: new PgJobStore(pool, { models: model }), registry, artifacts, data: new PgTrainingData(pool, schema), locks, publisher: bus.publisher, logger,
  train: isolation === 'inline' ? inlineCandidateTrainer() : workerCandidateTrainer(workerUrl),
  metrics: createTrainerMetrics(createMetricsRegistry('trainer-bench')), staleAfterMs: 600_000, orphanMinAgeMs: 3_600_000, group: `trainer-bench-${run}`, pollMs: 100,
  settings: { gates: { minAccuracy: 0, maxForgetting: 1, minImprovement: -1 }, lockTtlMs: 600_000, keepAliveMs: 5_000, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 0, oldMaxRows: 20_000, holdoutFraction: 0.1, holdoutMaxRows: 2_000, trainOptions: {} },
});
await trainer.start();
const r = await measureTriggerToChallenger({ publisher: bus.publisher, locks, registry }, { model, timeoutMs: 600_000 });
const { rows: [job] } = await pool.query(`SELECT EXTRACT(EPOCH FROM (started_at - created_at)) AS queued_s, EXTRACT(EPOCH FROM (finished_at - started_at)) AS run_s FROM training_jobs WHERE model = $1`, [model]);
await trainer.stop();
await bus.close();
await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await pool.end();
await redis.quit();

const m = r.challenger.metrics;
const table: [string, string][] = [
  ['backend', backend],
  ['isolation', isolation],
  ['rows in champion snapshot', String(base.length)],
  ['fresh corrections', String(fresh.length)],
  ['bootstrap (train base + upload + register), s', bootstrapS.toFixed(1)],
  ['champion accuracy (bootstrap validation)', (boot.version.metrics.accuracy ?? 0).toFixed(4)],
  ['trigger → job claimed, s', Number(job?.queued_s ?? 0).toFixed(2)],
  ['job (data, train, gate, upload, register), s', Number(job?.run_s ?? 0).toFixed(2)],
  ['train seconds (learning core)', (m.trainSeconds ?? 0).toFixed(2)],
  ['trigger → challenger registered, s', (r.ms / 1000).toFixed(2)],
  ['challenger accuracy / champion on same rows', `${(m.accuracy ?? 0).toFixed(4)} / ${(m.championAccuracy ?? 0).toFixed(4)}`],
  ['forgetting on old holdout', (m.forgetting ?? 0).toFixed(4)],
];
const w = Math.max(...table.map(([k]) => k.length));
console.log(`\ntrigger → challenger (${model}@${r.version})`);
for (const [k, v] of table) console.log(`  ${k.padEnd(w)}  ${v}`);
console.log(JSON.stringify({
  bench: 'trainer', backend, isolation, rows: base.length, feedback: fresh.length, bootstrapSeconds: +bootstrapS.toFixed(2),
  triggerToChallengerSeconds: +(r.ms / 1000).toFixed(3), jobSeconds: Number(job?.run_s ?? 0), trainSeconds: m.trainSeconds ?? null,
  accuracy: m.accuracy ?? null, championAccuracy: m.championAccuracy ?? null, forgetting: m.forgetting ?? null, targetSeconds: 60,
}));
process.exit(0);
