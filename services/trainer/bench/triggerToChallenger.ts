// bench:trainer — time from a retraining trigger to a registered challenger for a 20,000-row model
// (flipkart sample, top-level category) on this machine's CPU backend, through the real stores.
//   pnpm bench:trainer [--rows 20000] [--feedback 500] [--isolation thread|inline]
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bootstrapModel } from '@flywheel/cli';
import { FLYWHEEL_SOURCES, ModelName } from '@flywheel/contracts';
import { readExamples, type Example } from '@flywheel/learning';
import { initBackend } from '@flywheel/learning/train';
import { startLocalStack } from '@flywheel/local-stack';
import { createOutboxRelay, createPool, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { inlineCandidateTrainer, workerCandidateTrainer } from '../src/candidateTrainer.js';
import { TrainerConfig } from '../src/config.js';
import { createJobRunner } from '../src/createJobRunner.js';
import { HttpTrainingData } from '../src/HttpTrainingData.js';
import { measureTriggerToChallenger } from '../src/measureTriggerToChallenger.js';
import { onRetrainingTriggers } from '../src/onRetrainingTriggers.js';
import { pgOwnerLiveness } from '../src/ownerLiveness.js';
import { PgJobStore } from '../src/PgJobStore.js';
import { createTrainerMetrics } from '../src/trainerMetrics.js';
import { trainerMigrationsDir } from '../src/trainerMigrationsDir.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values: a } = parseArgs({ options: { rows: { type: 'string', default: '20000' }, feedback: { type: 'string', default: '500' }, isolation: { type: 'string', default: 'thread' }, 'bootstrap-epochs': { type: 'string', default: '6' } } });
const workerUrl = new URL('../dist/trainWorker.js', import.meta.url);
// The worker runs the built file; without a build, train in this thread.
const isolation = a.isolation === 'inline' || !existsSync(fileURLToPath(workerUrl)) ? 'inline' : 'thread';
const run = randomUUID().slice(0, 8);
const model = ModelName.parse(`bench-${run}`);
const schema = `trainer_bench_${run}`;
// feedback-ingest (from its dist) owns the feedback: the trainer reads it over its API, as deployed.
const ingest = await startLocalStack({ services: ['feedback-ingest'], pgSchema: schema, runId: `bench-${run}`, logDir: join(tmpdir(), `trainer-bench-${run}`), env: { 'feedback-ingest': { REDIS_PREFIX: `fwbench-${run}`, LOG_LEVEL: 'warn' } } });
const config = TrainerConfig.parse({
  ...process.env, LOG_LEVEL: 'warn', PORT: '0', PG_SCHEMA: schema, REDIS_PREFIX: `fwbench-${run}`, TOPIC_PREFIX: ingest.topicPrefix,
  FEEDBACK_URL: ingest.url('feedback-ingest'), ADMIN_TOKEN: ingest.adminToken, JOB_STALE_AFTER_MS: '600000',
});
const svc = createService({ name: 'trainer-bench', config, handleSignals: false });
const backend = await initBackend();
await svc.migrate(registryMigrationsDir, 'registry_migrations');
await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
await svc.migrate(trainerMigrationsDir, 'trainer_migrations');
const pool = svc.pool();
const leases = new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX));
const artifacts = new MinioArtifactStore(await svc.objectStore());
const registry = new PgRegistry(pool);

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
for (let i = 0; i < fresh.length; i += 1000) {
  const items = fresh.slice(i, i + 1000).map((f) => ({ model, text: f.text, kind: 'misclassification', correctLabel: f.label }));
  // The ingest learns of the new model at its next catalog refresh: 404 until then.
  for (let tries = 0; ; tries++) {
    const r = await fetch(`${config.FEEDBACK_URL}/v1/feedback/batch`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${config.ADMIN_TOKEN}` }, body: JSON.stringify({ items }) });
    if (r.status === 202) break;
    if (tries > 50) throw new Error(`feedback-ingest refused the corrections: HTTP ${r.status} ${await r.text()}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const relay = createOutboxRelay({ pool, publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${schema}.outbox`, source: FLYWHEEL_SOURCES.trainer });
svc.onStop(() => relay.stop());
const metrics = createTrainerMetrics(svc.metrics);
const jobs = new PgJobStore(pool, { announced: () => relay.nudge() });
const runner = createJobRunner({
  jobs, registry, artifacts, data: new HttpTrainingData({ baseUrl: config.FEEDBACK_URL, token: config.ADMIN_TOKEN }), leases, logger: svc.logger, metrics,
  train: isolation === 'inline' ? inlineCandidateTrainer() : workerCandidateTrainer(workerUrl),
  staleAfterMs: 600_000, orphanMinAgeMs: 3_600_000, owners: pgOwnerLiveness(pool, schema), // recovery never runs in the bench
  settings: { gates: { minAccuracy: 0, maxForgetting: 1, minImprovement: -1 }, lockTtlMs: 600_000, keepAliveMs: 5_000, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 0, oldMaxRows: 20_000, holdoutFraction: 0.1, holdoutMaxRows: 2_000, trainOptions: {} },
});
const training = svc.every('training-jobs', 100, runner.runOnce);
svc.consume(`trainer-bench-${run}`, { retrainingTriggers: onRetrainingTriggers({ jobs, metrics, logger: svc.logger, wake: () => void training.runNow() }) });
relay.start();
await svc.start();
const r = await measureTriggerToChallenger({ publisher: svc.bus().publisher, leases, registry }, { model, timeoutMs: 600_000 });
const { rows: [job] } = await pool.query(`SELECT EXTRACT(EPOCH FROM (started_at - created_at)) AS queued_s, EXTRACT(EPOCH FROM (finished_at - started_at)) AS run_s FROM training_jobs WHERE model = $1`, [model]);
await svc.stop();
await ingest.stopAll();
const admin = createPool(process.env.POSTGRES_URL ?? '', { max: 1 });
await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
await admin.end();

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
