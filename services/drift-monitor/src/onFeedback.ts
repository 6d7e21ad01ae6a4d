import { outcomeOf, reporterOf, type EventOf } from '@flywheel/contracts';
import type { PredictionOutcomes } from './PredictionOutcomes.js';

/** Handles `feedback-events`: a verdict on a remembered prediction counts in its reference or window (accuracy drop). */
export const onFeedback = (deps: { outcomes: PredictionOutcomes }) =>
  async (event: EventOf<'feedback'>): Promise<void> => {
    const f = event.data;
    const correct = outcomeOf(f);
    if (f.predictionId === undefined || correct === undefined) return;
    deps.outcomes.attribute(f.predictionId, correct, reporterOf(event)); // unknown, forgotten or another client's prediction: nothing
  };
