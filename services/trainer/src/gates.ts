import type { CandidateScores } from '@flywheel/learning';
import type { Metrics } from '@flywheel/contracts';

// The gates live with trainCandidate in @flywheel/learning so bench:learn judges candidates the same way.
export { checkGates, type CandidateScores, type Gates } from '@flywheel/learning';

/** Scores as flat metrics for the registry, events and history rows. */
export const scoresToMetrics = (s: CandidateScores, extra: Metrics = {}): Metrics => ({
  ...extra,
  accuracy: s.accuracy,
  championAccuracy: s.championAccuracy,
  improvement: s.accuracy - s.championAccuracy,
  forgetting: s.forgetting,
});
