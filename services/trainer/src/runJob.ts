import { makeEvent, type ArtifactRef, type JobId, type Metrics, type ModelName, type ModelVersion, type TrainingState } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import type { DeepPartial, Example, TrainOptions } from '@flywheel/learning';
import type { Locks, Lease } from '@flywheel/redis';
import type { MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { Failed, failpoint, type Logger } from '@flywheel/runtime';
import { z } from 'zod';
import type { CandidateTrainer } from './candidateTrainer.js';
import { deterministicId } from './deterministicId.js';
import { checkGates, type Gates } from './gates.js';
import { optionsForModel, type ModelTrainOverridesByModel } from './modelOptions.js';
import type { Job, JobStore } from './PgJobStore.js';
import type { TrainingDataSource } from './PgTrainingData.js';
import type { TrainerMetrics } from './trainerMetrics.js';

export const TRAINER_SOURCE = '/flywheel/trainer';
/** The retraining lock key every trigger source shares (aggregator, drift-monitor, feedback-ingest). */
export const retrainLockKey = (model: string): string => `retrain:${model}`;

/** What the trainer needs from the registry (PgRegistry satisfies it). */
export type RegistryPort = Pick<PgRegistry, 'champion' | 'nextVersion' | 'registerChallenger' | 'hasVersion' | 'version' | 'countByStatus'>;
/** What the trainer needs from the artifact store (MinioArtifactStore satisfies it). */
export type ArtifactPort = Pick<MinioArtifactStore, 'readTrainingState' | 'readDataset' | 'writeVersion' | 'removeVersion' | 'sweepOrphans'>;

/** Knobs of a job; see config.ts for their environment names and defaults. */
export interface JobSettings {
  gates: Gates;
  lockTtlMs: number;
  /** how often the job's heartbeat and lock are renewed */
  keepAliveMs: number;
  pseudoLabelMinConfidence: number;
  pseudoLabelMaxRows: number;
  /** newest rows of the champion's snapshot kept (the older ones drop out of the snapshot) */
  oldMaxRows: number;
  /** share of the rows in each held-out set (validation, gate, test); see learning's splits.ts */
  holdoutFraction: number;
  /** most rows in each held-out set */
  holdoutMaxRows: number;
  /** old training rows trained on again besides the replay reservoir (default 0) */
  oldTrainMaxRows?: number;
  /** learning options of every model, over TRAINER_DEFAULT_OPTIONS */
  trainOptions: DeepPartial<TrainOptions>;
  /** per-model overrides (TRAINER_MODEL_OPTIONS), over trainOptions */
  modelOptions?: ModelTrainOverridesByModel;
}

export interface JobDeps {
  jobs: JobStore;
  registry: RegistryPort;
  artifacts: ArtifactPort;
  data: TrainingDataSource;
  train: CandidateTrainer;
  locks: Locks;
  publisher: Publisher;
  logger: Logger;
  metrics: TrainerMetrics;
  settings: JobSettings;
}

/** What the trainer trains with when nothing is overridden: learning's measured default. */
export { TRAINER_DEFAULT_OPTIONS as DEFAULT_STRATEGY } from '@flywheel/learning';

/** Publishes one training-status event for a job. */
export const publishStatus = (deps: Pick<JobDeps, 'publisher'>, job: Pick<Job, 'id' | 'model' | 'fencingToken'>, state: TrainingState, progress: number, extra: { stage?: string; version?: ModelVersion; metrics?: Metrics; reason?: string } = {}): Promise<void> =>
  deps.publisher.publish('trainingStatus', makeEvent('trainingStatus', {
    source: TRAINER_SOURCE,
    subject: job.model,
    data: { jobId: job.id, state, progress, fencingToken: job.fencingToken as never, ...extra, ...(extra.reason ? { reason: extra.reason.slice(0, 4000) } : {}) },
  }));

/** Publishes model-updates challenger_registered; the id is derived from the version so a retry is a duplicate. */
export const publishChallenger = (deps: Pick<JobDeps, 'publisher'>, model: ModelName, v: { version: ModelVersion; artifact: import('@flywheel/contracts').ArtifactRef; metrics: Metrics }): Promise<void> =>
  deps.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
    id: deterministicId(`challenger_registered:${model}@${v.version}`),
    source: TRAINER_SOURCE,
    subject: model,
    data: { action: 'challenger_registered', version: v.version, artifact: v.artifact, metrics: v.metrics },
  }));

/** The job cannot succeed as triggered (no champion, nothing to learn, superseded): recorded as failed, never retried. */
class JobFailed extends Failed {}

const parseJsonl = (bytes: Uint8Array): Example[] => {
  const Row = z.object({ text: z.string().min(1), label: z.string().min(1), group: z.string().optional(), source: z.enum(['original', 'human_correction', 'confirmation', 'pseudo_label']).optional(), confidence: z.number().optional() });
  const out: Example[] = [];
  for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
    if (line.trim() === '') continue;
    const r = Row.safeParse(JSON.parse(line));
    if (r.success) out.push(r.data as Example);
  }
  return out;
};
/**
 * The champion's training state and training set. A champion whose artifacts are missing or damaged
 * fails this job with a reason that says so (and counts it); jobs of other models are unaffected.
 */
const readChampion = async (deps: Pick<JobDeps, 'artifacts' | 'metrics'>, model: string, champion: { version: string; artifact: ArtifactRef }) => {
  try {
    const [files, previous] = await Promise.all([deps.artifacts.readTrainingState(champion.artifact), deps.artifacts.readDataset(champion.artifact).then(parseJsonl)]);
    return { files, previous };
  } catch (err) {
    deps.metrics.modelLoadFailures.inc({ model });
    const reason = err instanceof Error ? err.message : String(err);
    throw new JobFailed(`champion ${model}@${champion.version} could not be read, so ${model} cannot retrain: ${reason}; restore or re-register its artifacts (other models are unaffected)`, { cause: err });
  }
};
const toJsonl = (rows: readonly Example[]): Uint8Array => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

/**
 * Runs one claimed job to its end: assembles data, trains from the champion, gates, uploads the
 * artifacts (manifest last), registers the challenger and publishes it. Every failure is recorded on
 * the job with its reason; an upload whose registration did not happen is removed. The lock is
 * kept alive while it runs and released at the end with the trigger's token.
 */
export async function runJob(deps: JobDeps, job: Job): Promise<TrainingState> {
  const { jobs, registry, artifacts, settings, metrics, logger } = deps;
  const log = logger.child({ job: job.id, model: job.model, token: job.fencingToken });
  const started = process.hrtime.bigint();
  const lease: Lease = { key: retrainLockKey(job.model), token: job.fencingToken };
  let uploaded: ModelVersion | undefined;
  let registered = false;
  const step = async (progress: number, stage: string, version?: ModelVersion): Promise<void> => {
    metrics.progress.set({ model: job.model }, progress);
    await jobs.update(job.id as JobId, { progress, stage, ...(version ? { version } : {}) });
    await publishStatus(deps, job, 'running', progress, { stage, ...(version ? { version } : {}) });
  };
  const keepAlive = setInterval(() => {
    jobs.heartbeat(job.id).catch((err: unknown) => log.warn({ err }, 'job heartbeat failed'));
    deps.locks.extend(lease, settings.lockTtlMs).catch((err: unknown) => log.warn({ err }, 'lock extension failed'));
  }, settings.keepAliveMs);
  keepAlive.unref();
  let outcome: TrainingState = 'failed';
  try {
    await step(0.02, 'starting');
    if (!(await deps.locks.extend(lease, settings.lockTtlMs))) {
      const holder = await deps.locks.holder(lease.key);
      if (holder !== undefined && holder !== job.fencingToken) throw new JobFailed(`retraining lock of ${job.model} is held by token ${holder}, not this trigger's ${job.fencingToken}; a newer trigger owns the model`);
      log.warn('retraining lock had expired; continuing, the fencing check guards registration');
    }
    const champion = await registry.champion(job.model);
    if (!champion) throw new JobFailed(`model ${job.model} has no champion to continue from; bootstrap it first (flywheel bootstrap --model ${job.model} --data FILE)`);
    const [{ files: championFiles, previous }, fresh] = await Promise.all([
      readChampion(deps, job.model, champion),
      deps.data.fresh(job.model, { ...(job.trigger.feedbackWatermark !== undefined ? { watermark: job.trigger.feedbackWatermark } : {}), pseudoLabelMinConfidence: settings.pseudoLabelMinConfidence, pseudoLabelMaxRows: settings.pseudoLabelMaxRows }),
    ]);
    if (fresh.length === 0) throw new JobFailed(`no new feedback or confident predictions for ${job.model} up to watermark ${job.trigger.feedbackWatermark ?? 'latest'}; nothing to learn from`);
    const known = new Set(champion.labels);
    const labelsAdded = fresh.some((e) => !known.has(e.label));
    const version = await registry.nextVersion(job.model, { labelsAdded, newBase: false });
    await step(0.15, 'training', version);
    failpoint('trainer.mid-training'); // the job is running and holds the lease: recovery must fail it and free the model
    const options = optionsForModel(job.model, settings.trainOptions, settings.modelOptions ?? {});
    log.info({ options: { mode: options.mode, lora: options.lora, epochs: options.epochs, learningRate: options.learningRate, embeddingDelta: options.embeddingDelta, strategy: options.strategy } }, 'training with these options');
    const out = await deps.train({
      model: job.model, version, championFiles, fresh, previous, options,
      data: { oldMaxRows: settings.oldMaxRows, oldTrainMaxRows: settings.oldTrainMaxRows ?? 0, split: { validation: settings.holdoutFraction, gate: settings.holdoutFraction, test: settings.holdoutFraction, maxRows: settings.holdoutMaxRows } },
    });
    const trainMetrics: Metrics = { ...out.metrics, freshRows: fresh.length };
    await step(0.8, 'gating', version);
    const reasons = checkGates(out.scores, settings.gates);
    if (reasons.length > 0) {
      const reason = `quality gate failed: ${reasons.join('; ')}`;
      await jobs.finish(job.id, 'rejected', { reason, metrics: trainMetrics });
      await publishStatus(deps, job, 'rejected', 0.8, { reason, metrics: trainMetrics, version });
      log.info({ reason, metrics: trainMetrics }, 'candidate rejected by a gate; nothing registered');
      outcome = 'rejected';
      return outcome;
    }
    // Fencing: a newer trigger for this model was recorded while we trained; its job wins.
    const highest = await jobs.highestToken(job.model);
    if (highest !== undefined && highest > job.fencingToken) throw new JobFailed(`superseded: a newer trigger (token ${highest}) arrived for ${job.model} while this one (token ${job.fencingToken}) trained`);
    await step(0.85, 'uploading', version);
    failpoint('trainer.before-upload');
    uploaded = version;
    const artifact = await artifacts.writeVersion({
      model: job.model, version, baseVersion: out.baseVersion, parentVersion: champion.version, labels: out.labels, metrics: trainMetrics,
      adapter: out.adapter, state: out.stateFiles, dataset: toJsonl(out.snapshot),
      baseOnnx: () => {
        if (!out.baseOnnx) throw new JobFailed(`base ${out.baseVersion} is not stored and the run did not export it`);
        return out.baseOnnx;
      },
    });
    await step(0.95, 'registering', version);
    await registry.registerChallenger({
      model: job.model, version, baseVersion: out.baseVersion, parentVersion: champion.version, labels: out.labels, metrics: trainMetrics, artifact,
      actor: 'trainer', reason: `retrained from ${champion.version} (${job.trigger.reason}, job ${job.id}, token ${job.fencingToken})`,
    });
    registered = true;
    await jobs.finish(job.id, 'succeeded', { version, metrics: trainMetrics });
    await publishChallenger(deps, job.model, { version, artifact, metrics: trainMetrics });
    await publishStatus(deps, job, 'succeeded', 1, { version, metrics: trainMetrics });
    log.info({ version, metrics: trainMetrics, backend: out.backend }, 'challenger registered');
    outcome = 'succeeded';
    return outcome;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    log.error({ err }, 'training job failed');
    if (uploaded !== undefined && !registered && !(await registry.hasVersion(job.model, uploaded).catch(() => true))) {
      await artifacts.removeVersion(job.model, uploaded).catch((e: unknown) => log.warn({ err: e }, 'could not remove the unregistered upload; the orphan sweep will'));
    }
    await jobs.finish(job.id, 'failed', { reason }).catch((e: unknown) => log.error({ err: e }, 'could not record the job failure'));
    await publishStatus(deps, job, 'failed', 0, { reason }).catch((e: unknown) => log.warn({ err: e }, 'could not publish the failure'));
    outcome = 'failed';
    return outcome;
  } finally {
    clearInterval(keepAlive);
    metrics.jobs.inc({ model: job.model, outcome });
    metrics.duration.observe({ model: job.model }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.progress.set({ model: job.model }, outcome === 'succeeded' ? 1 : 0);
    await deps.locks.release(lease).catch((err: unknown) => log.warn({ err }, 'could not release the retraining lock; it will expire'));
  }
}
