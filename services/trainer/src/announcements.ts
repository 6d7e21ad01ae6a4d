import { FencingToken, FLYWHEEL_SOURCES, makeEvent, type ArtifactRef, type JobId, type Metrics, type ModelName, type ModelVersion, type TrainingState } from '@flywheel/contracts';
import type { OutboxEntry } from '@flywheel/postgres';
import { deterministicId } from './deterministicId.js';

/** What the trainer announces: training-status events and model-updates, written to the shared outbox with the job change they describe. */
export type Announcement = OutboxEntry<'trainingStatus'> | OutboxEntry<'modelUpdates'>;

/** The envelope source of every trainer event (the control topics accept only their owner). */
export const TRAINER_SOURCE = FLYWHEEL_SOURCES.trainer;

/**
 * One training-status event of a job. Its id is derived from (job, state, stage), so re-announcing
 * the same step (recovery after a crash) is a no-op in the outbox and a duplicate for consumers.
 */
export const statusEvent = (
  job: { id: string; model: string; fencingToken: number },
  state: TrainingState,
  progress: number,
  extra: { stage?: string; version?: ModelVersion; metrics?: Metrics; reason?: string } = {},
): Announcement => {
  const token = FencingToken.safeParse(job.fencingToken);
  return {
    topic: 'trainingStatus',
    event: makeEvent('trainingStatus', {
      id: deterministicId(`training-status:${job.id}:${state}:${extra.stage ?? ''}`),
      source: TRAINER_SOURCE,
      subject: job.model as ModelName,
      data: {
        jobId: job.id as JobId, state, progress, ...(token.success ? { fencingToken: token.data } : {}),
        ...extra, ...(extra.reason !== undefined ? { reason: extra.reason.slice(0, 4000) } : {}),
      },
    }),
  };
};

/** model-updates challenger_registered; the id is derived from the version, so announcing it again is a duplicate. */
export const challengerEvent = (model: string, v: { version: ModelVersion; artifact: ArtifactRef; metrics: Metrics }): Announcement => ({
  topic: 'modelUpdates',
  event: makeEvent('modelUpdates', {
    id: deterministicId(`challenger_registered:${model}@${v.version}`),
    source: TRAINER_SOURCE,
    subject: model as ModelName,
    data: { action: 'challenger_registered', version: v.version, artifact: v.artifact, metrics: v.metrics },
  }),
});
