import type { ArtifactRef, FencingToken, Metrics, ModelVersion, TrainingState } from '@flywheel/contracts';
import { encoderUpdateOptions, type DeepPartial, type Example, type TrainOptions } from '@flywheel/learning';
import type { RetrainLease, RetrainLeases } from '@flywheel/redis';
import type { EncoderRef, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { backoffMs, classifyError, Failed, failpoint, sleep, type Logger } from '@flywheel/runtime';
import { z } from 'zod';
import { challengerEvent, statusEvent } from './announcements.js';
import type { CandidateTrainer } from './candidateTrainer.js';
import type { EmbeddingSettings } from './trainCandidate.js';
import { checkGates, type Gates } from './gates.js';
import { optionsForModel, type ModelTrainOverridesByModel } from './modelOptions.js';
import { NotJobOwner, type Job, type JobStore } from './PgJobStore.js';
import type { TrainingDataSource } from './ports.js';
import type { TrainerMetrics } from './trainerMetrics.js';

/** What a job needs of the shared retraining lease (RetrainLeases satisfies it). */
export type LeasePort = Pick<RetrainLeases, 'extend' | 'release' | 'holder'>;

/** What the trainer needs from the registry (PgRegistry satisfies it). */
export type RegistryPort = Pick<PgRegistry, 'champion' | 'nextVersion' | 'registerChallenger' | 'hasVersion' | 'version' | 'countByStatus'>;
/** What the trainer needs from the artifact store (MinioArtifactStore satisfies it). */
export type ArtifactPort = Pick<MinioArtifactStore, 'readManifest' | 'readTrainingState' | 'readDataset' | 'readEncoderFiles' | 'writeVersion' | 'removeVersion' | 'sweepOrphans'>;

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
  /** encoder bases: where embeddings are cached across jobs, and onnxruntime's threads (see config.ts) */
  embeddings?: EmbeddingSettings;
}

export interface JobDeps {
  jobs: JobStore;
  registry: RegistryPort;
  artifacts: ArtifactPort;
  data: TrainingDataSource;
  train: CandidateTrainer;
  leases: LeasePort;
  logger: Logger;
  metrics: TrainerMetrics;
  settings: JobSettings;
}

/** What the trainer trains with when nothing is overridden: learning's measured default. */
export { TRAINER_DEFAULT_OPTIONS as DEFAULT_STRATEGY } from '@flywheel/learning';

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
/** What a job continues from: a Flywheel version (its state and snapshot, and its encoder when it has one) or an imported classifier. */
type ChampionSource =
  | { kind: 'version'; files: Record<string, Uint8Array>; previous: Example[]; encoder: { ref: EncoderRef; files: Record<string, Uint8Array> } | undefined }
  | { kind: 'imported'; classifier: Record<string, Uint8Array>; student: { ref: EncoderRef; files: Record<string, Uint8Array> } };

/**
 * The champion's training state and training set (or, for an imported classifier, its folder and
 * the encoder its successor trains on). A champion whose artifacts are missing or damaged fails
 * this job with a reason that says so (and counts it); jobs of other models are unaffected.
 */
const readChampion = async (deps: Pick<JobDeps, 'artifacts' | 'metrics'>, model: string, champion: { version: string; artifact: ArtifactRef }): Promise<ChampionSource> => {
  let manifest: Awaited<ReturnType<ArtifactPort['readManifest']>>;
  try {
    manifest = await deps.artifacts.readManifest(champion.artifact);
  } catch (err) {
    throw unreadable(deps, model, champion, err);
  }
  if (manifest.kind === 'imported-classifier') {
    // Not a damaged artifact: the import carried no encoder to train a successor on; the classifier keeps serving.
    if (manifest.studentEncoder === undefined || manifest.encoder === undefined) {
      throw new JobFailed(`champion ${model}@${champion.version} is an imported classifier imported without an encoder, so there is no frozen base to train its successor on (the classifier's own ONNX gives logits, not embeddings); import it again with the encoder it was fine-tuned from: flywheel import --model ${model} --classifier DIR --encoder ENCODER_DIR (model.onnx exported for feature extraction + tokenizer.json); it keeps serving as it is meanwhile`);
    }
    try {
      const [classifier, student] = await Promise.all([deps.artifacts.readEncoderFiles(manifest.encoder), deps.artifacts.readEncoderFiles(manifest.studentEncoder)]);
      return { kind: 'imported', classifier, student: { ref: manifest.studentEncoder, files: student } };
    } catch (err) {
      throw unreadable(deps, model, champion, err);
    }
  }
  try {
    const encoderRef = manifest.encoder;
    const [files, previous, encoder] = await Promise.all([
      deps.artifacts.readTrainingState(champion.artifact),
      deps.artifacts.readDataset(champion.artifact).then(parseJsonl),
      encoderRef !== undefined ? deps.artifacts.readEncoderFiles(encoderRef).then((f) => ({ ref: encoderRef, files: f })) : Promise.resolve(undefined),
    ]);
    return { kind: 'version', files, previous, encoder };
  } catch (err) {
    throw unreadable(deps, model, champion, err);
  }
};
/** A retriable read error passes through (the job waits it out); anything else is a damaged champion. */
const unreadable = (deps: Pick<JobDeps, 'metrics'>, model: string, champion: { version: string }, err: unknown): unknown => {
  if (classifyError(err)?.retriable) return err; // the object store is down, not the artifacts damaged: the job waits it out
  deps.metrics.modelLoadFailures.inc({ model });
  const reason = err instanceof Error ? err.message : String(err);
  return new JobFailed(`champion ${model}@${champion.version} could not be read, so ${model} cannot retrain: ${reason}; restore or re-register its artifacts (other models are unaffected)`, { cause: err });
};
/** The folder of this job's upload under its version: another attempt at the same version (a later job) never shares it. */
export const uploadAttempt = (job: Pick<Job, 'id' | 'epoch'>): string => `${job.id}-e${job.epoch}`;

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
  const lease: RetrainLease = { model: job.model, token: job.fencingToken as FencingToken };
  // Set by the keep-alive when an extension finds the lease gone, or the heartbeat finds the job
  // taken over (a newer epoch); the next step stops the job.
  let leaseLost = false;
  let ownerLost = false;
  /** Extends the lease; when it is gone (expired, or a newer trigger took the model) the job stops: nothing may be registered without it (issue 13). */
  const holdLease = async (): Promise<void> => {
    if (ownerLost) throw new NotJobOwner(`training job ${job.id} was taken over by another trainer (epoch ${job.epoch} is stale); this trainer stops it and writes nothing more`);
    if (!leaseLost && (await deps.leases.extend(lease, settings.lockTtlMs))) return;
    const holder = await deps.leases.holder(job.model).catch(() => undefined);
    throw new JobFailed(`retraining lease of ${job.model} for this trigger's token ${job.fencingToken} could not be extended (${holder !== undefined && holder !== job.fencingToken ? `token ${holder} holds it: a newer trigger owns the model` : 'it expired'}); the job stopped and registered nothing; the next trigger retrains`);
  };
  /**
   * Waits out an outage (feedback-ingest, PostgreSQL or the object store down: a retriable error)
   * instead of failing the trigger for good: capped backoff with jitter, for as long as this job
   * still holds its lease and its row (issue 13). Any other error ends the job as before.
   */
  const untilAvailable = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!classifyError(err)?.retriable) throw err;
        const waitMs = backoffMs(attempt, 500, 15_000);
        log.warn({ err, attempt, waitMs }, `${what}: a dependency is unavailable; retrying while this job holds its lease`);
        await sleep(waitMs);
        // A lost lease or row ends the job; Redis itself being down is one more outage to wait out.
        await holdLease().catch((e: unknown) => { if (!classifyError(e)?.retriable) throw e; });
      }
    }
  };
  let uploaded: ModelVersion | undefined;
  let registered = false;
  const step = async (progress: number, stage: string, version?: ModelVersion): Promise<void> => {
    await untilAvailable(`recording stage ${stage}`, holdLease);
    metrics.progress.set({ model: job.model }, progress);
    await untilAvailable(`recording stage ${stage}`, () => jobs.update(job, { progress, stage, ...(version ? { version } : {}) }, [statusEvent(job, 'running', progress, { stage, ...(version ? { version } : {}) })]));
  };
  const keepAlive = setInterval(() => {
    jobs.heartbeat(job).catch((err: unknown) => {
      if (err instanceof NotJobOwner) ownerLost = true;
      else log.warn({ err }, 'job heartbeat failed');
    });
    deps.leases.extend(lease, settings.lockTtlMs).then(
      (held) => { if (!held) leaseLost = true; },
      (err: unknown) => log.warn({ err }, 'lease extension failed; retried at the next keep-alive, and the next step checks it'),
    );
  }, settings.keepAliveMs);
  keepAlive.unref();
  let outcome: TrainingState = 'failed';
  try {
    await step(0.02, 'starting');
    const champion = await untilAvailable('reading the champion', () => registry.champion(job.model));
    if (!champion) throw new JobFailed(`model ${job.model} has no champion to continue from; bootstrap it first (flywheel bootstrap --model ${job.model} --data FILE)`);
    const [source, fresh] = await Promise.all([
      untilAvailable('reading the champion\'s artifacts', () => readChampion(deps, job.model, champion)),
      untilAvailable('reading the training examples', () => deps.data.fresh(job.model, { ...(job.trigger.feedbackWatermark !== undefined ? { watermark: job.trigger.feedbackWatermark } : {}), pseudoLabelMinConfidence: settings.pseudoLabelMinConfidence, pseudoLabelMaxRows: settings.pseudoLabelMaxRows })),
    ]);
    if (fresh.length === 0) throw new JobFailed(`no new feedback or confident predictions for ${job.model} up to watermark ${job.trigger.feedbackWatermark ?? 'latest'}; nothing to learn from`);
    const known = new Set(champion.labels);
    const labelsAdded = fresh.some((e) => !known.has(e.label));
    // An imported classifier's first successor is a new base (the student on its encoder): the next major version.
    const version = await untilAvailable('choosing the version', () => registry.nextVersion(job.model, { labelsAdded, newBase: source.kind === 'imported' }));
    await step(0.15, 'training', version);
    failpoint('trainer.mid-training'); // the job is running and holds the lease: recovery must fail it and free the model
    const encoderRef = source.kind === 'imported' ? source.student.ref : source.encoder?.ref;
    const options = optionsForModel(job.model, settings.trainOptions, settings.modelOptions ?? {}, encoderRef !== undefined ? 'encoder' : 'ngram');
    // An update on an encoder base continues at the encoder-base rate unless the model sets one: log the rate it runs at.
    const learningRate = (encoderRef !== undefined ? encoderUpdateOptions(options) : options).learningRate;
    log.info({ options: { mode: options.mode, lora: options.lora, epochs: options.epochs, learningRate, embeddingDelta: options.embeddingDelta, strategy: options.strategy } }, 'training with these options');
    const out = await deps.train({
      model: job.model, version, fresh, options,
      ...(source.kind === 'imported'
        ? { championFiles: {}, previous: [], encoder: { files: source.student.files }, teacher: { files: source.classifier, labels: champion.labels } }
        : { championFiles: source.files, previous: source.previous, ...(source.encoder ? { encoder: { files: source.encoder.files } } : {}) }),
      ...(settings.embeddings ? { embeddings: settings.embeddings } : {}),
      data: { oldMaxRows: settings.oldMaxRows, oldTrainMaxRows: settings.oldTrainMaxRows ?? 0, split: { validation: settings.holdoutFraction, gate: settings.holdoutFraction, test: settings.holdoutFraction, maxRows: settings.holdoutMaxRows } },
    });
    const trainMetrics: Metrics = { ...out.metrics, freshRows: fresh.length };
    if (trainMetrics.embeddingTexts !== undefined) {
      metrics.embeddings.inc({ model: job.model, result: 'cached' }, trainMetrics.embeddingCacheHits ?? 0);
      metrics.embeddings.inc({ model: job.model, result: 'computed' }, trainMetrics.embeddingsComputed ?? 0);
    }
    await step(0.8, 'gating', version);
    const reasons = checkGates(out.scores, settings.gates);
    if (reasons.length > 0) {
      const reason = `quality gate failed: ${reasons.join('; ')}`;
      await jobs.finish(job, 'rejected', { reason, metrics: trainMetrics }, [statusEvent(job, 'rejected', 0.8, { reason, metrics: trainMetrics, version })]);
      log.info({ reason, metrics: trainMetrics }, 'candidate rejected by a gate; nothing registered');
      outcome = 'rejected';
      return outcome;
    }
    // Fencing: a newer trigger for this model was recorded while we trained; its job wins.
    const highest = await untilAvailable('checking for a newer trigger', () => jobs.highestToken(job.model));
    if (highest !== undefined && highest > job.fencingToken) throw new JobFailed(`superseded: a newer trigger (token ${highest}) arrived for ${job.model} while this one (token ${job.fencingToken}) trained`);
    await step(0.85, 'uploading', version);
    failpoint('trainer.before-upload');
    uploaded = version;
    const artifact = await untilAvailable('uploading the artifacts', () => artifacts.writeVersion({
      model: job.model, version, attempt: uploadAttempt(job), baseVersion: out.baseVersion, parentVersion: champion.version, labels: out.labels, metrics: trainMetrics,
      adapter: out.adapter, state: out.stateFiles, dataset: toJsonl(out.snapshot),
      ...(fresh.sample ? { datasetSample: fresh.sample } : {}),
      ...(encoderRef ? { encoder: encoderRef } : {}),
      baseOnnx: () => {
        if (!out.baseOnnx) throw new JobFailed(`base ${out.baseVersion} is not stored and the run did not export it`);
        return out.baseOnnx;
      },
    }));
    await step(0.95, 'registering', version); // the last lease check: past it the challenger is registered
    // Registered and finished while holding the job's row as its owner: a takeover cannot interleave.
    await jobs.finishAfter(job, async () => {
      await registry.registerChallenger({
        model: job.model, version, baseVersion: out.baseVersion, parentVersion: champion.version, labels: out.labels, metrics: trainMetrics, artifact,
        actor: 'trainer', reason: `retrained from ${champion.version} (${job.trigger.reason}, job ${job.id}, token ${job.fencingToken}, epoch ${job.epoch})${out.modeReason !== undefined ? `; ${out.modeReason}` : ''}`,
      });
      registered = true;
    }, () => ({ state: 'succeeded', patch: { version, metrics: trainMetrics }, announce: [challengerEvent(job.model, { version, artifact, metrics: trainMetrics }), statusEvent(job, 'succeeded', 1, { version, metrics: trainMetrics })] }));
    log.info({ version, metrics: trainMetrics, backend: out.backend, mode: out.modeReason }, 'challenger registered');
    outcome = 'succeeded';
    return outcome;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    outcome = 'failed';
    if (err instanceof NotJobOwner) {
      // Another trainer owns the job now: it decides about the upload and the job's end.
      log.warn({ err }, 'training job taken over by another trainer; stopped without writing');
      return outcome;
    }
    if (registered) {
      // The challenger is registered; only recording it failed. Recovery finishes it as succeeded,
      // with its announcements, once the heartbeat is stale (a registered version needs no owner).
      log.error({ err }, 'challenger registered but the job could not be recorded as succeeded; recovery finishes it');
      return outcome;
    }
    log.error({ err }, 'training job failed');
    // The upload is removed while this trainer holds the job's row as its owner, so it can never
    // be another job's upload of the same version (none can run for the model until this commits).
    await jobs.finishAfter(job, async () => {
      if (uploaded !== undefined && !registered && !(await registry.hasVersion(job.model, uploaded).catch(() => true))) {
        await artifacts.removeVersion(job.model, uploaded, uploadAttempt(job)).catch((e: unknown) => log.warn({ err: e }, 'could not remove the unregistered upload; the orphan sweep will'));
      }
    }, () => ({ state: 'failed', patch: { reason }, announce: [statusEvent(job, 'failed', 0, { reason })] }))
      .catch((e: unknown) => log.error({ err: e }, 'could not record the job failure; this trainer\'s recovery fails it once its heartbeat is stale'));
    return outcome;
  } finally {
    clearInterval(keepAlive);
    metrics.jobs.inc({ model: job.model, outcome });
    metrics.duration.observe({ model: job.model }, Number(process.hrtime.bigint() - started) / 1e9);
    metrics.progress.set({ model: job.model }, outcome === 'succeeded' ? 1 : 0);
    await deps.leases.release(lease).catch((err: unknown) => log.warn({ err }, 'could not release the retraining lease; it will expire'));
  }
}
