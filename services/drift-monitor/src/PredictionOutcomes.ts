import type { Outcomes } from './driftAnalysis.js';

/** Predictions remembered at most (oldest forgotten first): feedback on older ones is not attributed. */
const PREDICTION_MEMORY = 200_000;

/**
 * Where each recent prediction's outcome counts (the reference or a window), so that feedback on it
 * joins the right counters, once.
 */
export class PredictionOutcomes {
  private readonly byId = new Map<string, Outcomes>();

  constructor(private readonly capacity = PREDICTION_MEMORY) {}

  remember(predictionId: string, outcomes: Outcomes): void {
    this.byId.set(predictionId, outcomes);
    if (this.byId.size > this.capacity) {
      const oldest = this.byId.keys().next();
      if (!oldest.done) this.byId.delete(oldest.value);
    }
  }

  /** Counts the outcome of a remembered prediction; false when it is unknown or forgotten. */
  attribute(predictionId: string, correct: boolean): boolean {
    const outcomes = this.byId.get(predictionId);
    if (!outcomes) return false;
    this.byId.delete(predictionId); // one outcome per prediction
    outcomes.n += 1;
    if (correct) outcomes.successes += 1;
    return true;
  }
}
