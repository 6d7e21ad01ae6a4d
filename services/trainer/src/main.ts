// The trainer's composition root: config, the skeleton, stores, the job runner, what runs.
import { FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { initBackend } from '@flywheel/learning/train';
import { createOutboxRelay, createPgLeadership, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService } from '@flywheel/service';
import { inlineCandidateTrainer, workerCandidateTrainer } from './candidateTrainer.js';
import { loadConfig } from './config.js';
import { createJobRunner } from './createJobRunner.js';
import { HttpTrainingData } from './HttpTrainingData.js';
import { retainJobs } from './jobRetention.js';
import { jobSettings } from './jobSettings.js';
import { onRetrainingTriggers } from './onRetrainingTriggers.js';
import { ownerLeaseKey, pgOwnerLiveness } from './ownerLiveness.js';
import { PgJobStore } from './PgJobStore.js';
import { createTrainerMetrics } from './trainerMetrics.js';
import { trainerMigrationsDir } from './trainerMigrationsDir.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'trainer', config });
// Only to log which backend training will use (tfjs-node-gpu on the GPU image); workers pick the same.
svc.logger.info({ backend: await initBackend(), modelOptions: config.TRAINER_MODEL_OPTIONS }, 'tensorflow.js backend and per-model training options');
await svc.migrate(registryMigrationsDir, 'registry_migrations');
await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
await svc.migrate(trainerMigrationsDir, 'trainer_migrations');

// Status events and challenger announcements: written with the job change, published by this relay.
const relay = createOutboxRelay({ pool: svc.pool(), publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.trainer });
svc.onStop(() => relay.stop());
const metrics = createTrainerMetrics(svc.metrics);
const jobs = new PgJobStore(svc.pool(), { models: config.TRAINER_MODELS, announced: () => relay.nudge() });
// This trainer's owner lease: held on its own session while the process lives, so another trainer's
// recovery never takes over a job of a live trainer (issue 13); a SIGKILL releases it at once.
const ownerLease = createPgLeadership({ connectionString: config.POSTGRES_URL, key: ownerLeaseKey(config.PG_SCHEMA, jobs.owner), logger: svc.logger });
if (!(await ownerLease.check())) throw new Error(`trainer owner id ${jobs.owner} is already held by another process; restart to get a new one`);
svc.onStop(() => ownerLease.close());
const runner = createJobRunner({
  jobs,
  registry: new PgRegistry(svc.pool()),
  artifacts: new MinioArtifactStore(await svc.objectStore()),
  data: new HttpTrainingData({ baseUrl: config.FEEDBACK_URL, token: config.ADMIN_TOKEN, maxRows: config.TRAINER_MAX_ROWS, seed: config.TRAINER_SAMPLE_SEED }),
  train: config.TRAINING_ISOLATION === 'thread' ? workerCandidateTrainer(new URL('./trainWorker.js', import.meta.url)) : inlineCandidateTrainer(),
  leases: new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX)),
  logger: svc.logger,
  metrics,
  settings: jobSettings(config),
  staleAfterMs: config.JOB_STALE_AFTER_MS,
  orphanMinAgeMs: config.ORPHAN_MIN_AGE_MS,
  owners: pgOwnerLiveness(svc.pool(), config.PG_SCHEMA),
});

// Jobs left running by a dead trainer are failed (and their uploads removed) before any new one runs.
await runner.maintenance();
// One job per run; a trigger starts a run at once, the poll picks up jobs queued while one ran.
const training = svc.every('training-jobs', 1_000, runner.runOnce);
svc.every('maintenance', 30_000, runner.maintenance);
svc.every('owner-lease', 5_000, ownerLease.check); // reconnects after a lost session
svc.every('outbox-prune', 3_600_000, () => relay.prune({ olderThanMs: config.OUTBOX_SENT_KEEP_DAYS * 86_400_000 }));
svc.every('retention', config.RETENTION_INTERVAL_MS, retainJobs(svc.pool(), config, metrics.retentionDeleted));
// Not awaited: the run is a training job (minutes); the schedule logs and counts its failures.
svc.consume('trainer', { retrainingTriggers: onRetrainingTriggers({ jobs, metrics, logger: svc.logger, wake: () => void training.runNow() }) });
relay.start();
await svc.start();
