import type { Handlers } from '@flywheel/bus';
import { classifyError, DependencyDown } from '@flywheel/runtime';
import type { Projection } from './ports.js';

// A store outage is retried (the offset must not move on); data the database refuses (SQLSTATE
// class 22/23, e.g. a NUL byte) is a PoisonMessage by classifyError and goes to the dead-letter
// topic with its reason: retrying it would stall the partition for good.
const retriable = <A extends unknown[]>(f: (...a: A) => Promise<void>) => async (...a: A): Promise<void> => {
  try {
    await f(...a);
  } catch (err) {
    throw classifyError(err) ?? new DependencyDown(`projection write failed: ${(err as Error).message}; retried`, { cause: err });
  }
};

/**
 * Handlers of the topics feedback-ingest projects (predictions, retraining-triggers,
 * training-status, model-updates): one line each, every one idempotent in the projection.
 */
export const onProjectedEvents = (projection: Projection): Handlers => ({
  predictions: retriable((e) => projection.onPrediction(e)),
  retrainingTriggers: retriable((e) => projection.onTrigger(e)),
  trainingStatus: retriable((e) => projection.onTrainingStatus(e)),
  modelUpdates: retriable((e) => projection.onModelUpdate(e)),
});
