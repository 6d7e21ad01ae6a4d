import { outcomeOf, reporterOf, teachingLabel, type EventOf } from '@flywheel/contracts';
import type { Outcomes } from './ports.js';

export { reporterOf };

/**
 * Joins feedback that says whether a prediction was right with that prediction (in either arrival
 * order). Every report is kept; the store counts only the first from the client the prediction went
 * to or from a trusted client, so nobody else can vote on another client's answers.
 */
export const onFeedback = (deps: { outcomes: Pick<Outcomes, 'recordOutcome'> }) =>
  async (event: EventOf<'feedback'>): Promise<void> => {
    const f = event.data;
    const correct = outcomeOf(f);
    if (f.predictionId === undefined || correct === undefined) return;
    // The true label, when the report names one, also judges a shadow's answer to the same request.
    const trueLabel = teachingLabel(f);
    await deps.outcomes.recordOutcome({ feedbackId: f.feedbackId, predictionId: f.predictionId, ...reporterOf(event), correct, ...(trueLabel !== undefined ? { trueLabel } : {}) });
  };
