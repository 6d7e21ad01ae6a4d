import type { EventOf, JobId } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import { statusEvent } from './announcements.js';
import type { JobStore } from './PgJobStore.js';
import type { TrainerMetrics } from './trainerMetrics.js';

/**
 * retraining-triggers → a queued job (with its `queued` status in the same transaction), or a
 * refusal when its fencing token is older than one already accepted. It only records the job:
 * Kafka never waits on training; `wake` asks the job runner to look now instead of at its next poll.
 */
export const onRetrainingTriggers = (deps: { jobs: Pick<JobStore, 'enqueue'>; metrics: TrainerMetrics; logger: Logger; wake: () => void }) =>
  async (event: EventOf<'retrainingTriggers'>): Promise<void> => {
    const job = { id: event.id as string as JobId, model: event.subject, fencingToken: event.data.fencingToken };
    const outcome = await deps.jobs.enqueue(event.id, event.subject, event.data, (o) => {
      switch (o.kind) {
        case 'duplicate':
          return [];
        case 'stale':
          return [statusEvent(job, 'failed', 0, { reason: `stale fencing token ${event.data.fencingToken}: a trigger with token ${o.highest} was already accepted for ${event.subject}` })];
        case 'queued':
          return [statusEvent(job, 'queued', 0, { stage: 'queued' })];
      }
    });
    switch (outcome.kind) {
      case 'duplicate':
        return;
      case 'stale':
        deps.logger.warn({ model: event.subject, token: event.data.fencingToken, highest: outcome.highest }, 'refused a stale retraining trigger');
        deps.metrics.jobs.inc({ model: event.subject, outcome: 'failed' });
        return;
      case 'queued':
        deps.wake();
        return;
    }
  };
