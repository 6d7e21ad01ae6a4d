/** Quality gates a candidate must pass to become a challenger. */
export interface Gates {
  minAccuracy: number;
  maxForgetting: number;
  minImprovement: number;
}

/** Numbers the gates look at: all on the gate set, which neither model trained on and nothing else chose by. */
export interface CandidateScores {
  accuracy: number;
  championAccuracy: number;
  /** champion accuracy − candidate accuracy on the old-data part of the gate set (0 when there is none) */
  forgetting: number;
}

/**
 * Accuracies are shares of rows, and their differences in floating point can land a hair past a limit
 * they equal (0.75 − 0.8 = −0.05000000000000004): a score within this of a limit meets it.
 */
const AT_LIMIT = 1e-9;

/** The reasons a candidate fails, empty when it passes. */
export const checkGates = (s: CandidateScores, g: Gates): string[] => {
  const reasons: string[] = [];
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  if (s.accuracy < g.minAccuracy - AT_LIMIT) reasons.push(`accuracy ${pct(s.accuracy)} is below the minimum ${pct(g.minAccuracy)}`);
  if (s.forgetting > g.maxForgetting + AT_LIMIT) reasons.push(`forgetting ${pct(s.forgetting)} on old data exceeds the maximum ${pct(g.maxForgetting)}`);
  const improvement = s.accuracy - s.championAccuracy;
  if (improvement < g.minImprovement - AT_LIMIT) reasons.push(`improvement ${pct(improvement)} over the champion is below the minimum ${pct(g.minImprovement)}`);
  return reasons;
};
