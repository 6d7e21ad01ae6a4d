import { outcomeCounts } from '@flywheel/contracts';
import type { Outcomes } from './driftAnalysis.js';

/** Predictions remembered at most (oldest forgotten first): feedback on older ones is not attributed. */
const PREDICTION_MEMORY = 200_000;

/**
 * Where each recent prediction's outcome counts (the reference or a window), so that feedback on it
 * joins the right counters, once — and only feedback from the client the answer went to or from a
 * trusted client: another client's thumbs-down cannot fake a concept drift and start a retraining.
 */
export class PredictionOutcomes {
  private readonly byId = new Map<string, { outcomes: Outcomes; client: string | undefined }>();

  constructor(private readonly capacity = PREDICTION_MEMORY) {}

  remember(predictionId: string, outcomes: Outcomes, client?: string): void {
    this.byId.set(predictionId, { outcomes, client });
    if (this.byId.size > this.capacity) {
      const oldest = this.byId.keys().next();
      if (!oldest.done) this.byId.delete(oldest.value);
    }
  }

  /** Counts the outcome of a remembered prediction; false when it is unknown, forgotten or not the reporter's to give. */
  attribute(predictionId: string, correct: boolean, reporter: { client: string | undefined; trusted: boolean }): boolean {
    const remembered = this.byId.get(predictionId);
    if (!remembered || !outcomeCounts(remembered.client, reporter)) return false;
    this.byId.delete(predictionId); // one outcome per prediction: the first that may count
    const outcomes = remembered.outcomes;
    outcomes.n += 1;
    if (correct) outcomes.successes += 1;
    return true;
  }
}
