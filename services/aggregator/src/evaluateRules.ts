import type { TriggerReason } from '@flywheel/contracts';
import type { RetrainRules } from '@flywheel/contracts';

/** What the rules look at for one model: its pending feedback (since the last trigger) and the outcome window. */
export interface ModelStats {
  pendingCorrections: number;
  pendingFeedback: number;
  /** Outcomes in the window (the most recent pending ones, at most windowSize) and how many were right. */
  windowTotal: number;
  windowCorrect: number;
  /** Best window accuracy since the last trigger, or null. */
  peakAccuracy: number | null;
  lastTriggerAt: Date | null;
  oldestPendingAt: Date | null;
}

export interface Firing {
  reason: Exclude<TriggerReason, 'manual' | 'drift'>;
  details: Record<string, number>;
}

const DAY_MS = 86_400_000;
const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/** Window accuracy, or null while the window is too small to judge. */
export const windowAccuracy = (s: Pick<ModelStats, 'windowTotal' | 'windowCorrect'>, rules: Pick<RetrainRules, 'minWindow'>): number | null =>
  s.windowTotal >= rules.minWindow && s.windowTotal > 0 ? s.windowCorrect / s.windowTotal : null;

/**
 * Which rule, if any, says the model must retrain now, with the numbers that made it fire.
 * Order: corrections, then performance, then schedule (the first that fires is the reason).
 */
export const evaluateRules = (s: ModelStats, rules: RetrainRules, now: Date): Firing | undefined => {
  if (s.pendingCorrections >= rules.correctionThreshold) {
    return { reason: 'threshold', details: { pendingCorrections: s.pendingCorrections, threshold: rules.correctionThreshold } };
  }
  const acc = windowAccuracy(s, rules);
  if (acc !== null && acc < rules.accuracyFloor) {
    return { reason: 'performance', details: { accuracy: round(acc), accuracyFloor: rules.accuracyFloor, window: s.windowTotal } };
  }
  if (acc !== null && s.peakAccuracy !== null && s.peakAccuracy - acc > rules.maxAccuracyDrop) {
    return { reason: 'performance', details: { accuracy: round(acc), peakAccuracy: round(s.peakAccuracy), drop: round(s.peakAccuracy - acc), maxAccuracyDrop: rules.maxAccuracyDrop, window: s.windowTotal } };
  }
  const since = s.lastTriggerAt ?? s.oldestPendingAt;
  if (s.pendingFeedback > 0 && since && now.getTime() - since.getTime() >= rules.maxDaysBetweenTrainings * DAY_MS) {
    return { reason: 'schedule', details: { daysSinceLastTraining: round((now.getTime() - since.getTime()) / DAY_MS), maxDays: rules.maxDaysBetweenTrainings, pendingFeedback: s.pendingFeedback } };
  }
  return undefined;
};

/** Share of a rule's threshold or window one standard client may fill (unless RETRAIN_MAX_PER_CLIENT sets the correction cap). */
export const DEFAULT_CLIENT_SHARE = 0.4;

/** How many of one standard client's reports count: toward the correction threshold, and in the outcome window. */
export interface ClientCaps {
  corrections: number;
  window: number;
}

/**
 * The per-client caps of a model's rules, so a single standard client can neither reach the
 * correction threshold nor fill the outcome window alone. Trusted clients are exempt (the ledger
 * does not cap them). `maxPerClient` (RETRAIN_MAX_PER_CLIENT) overrides the correction cap.
 */
export const clientCaps = (rules: Pick<RetrainRules, 'correctionThreshold' | 'windowSize'>, maxPerClient?: number): ClientCaps => ({
  corrections: maxPerClient ?? Math.max(1, Math.floor(rules.correctionThreshold * DEFAULT_CLIENT_SHARE)),
  window: Math.max(1, Math.floor(rules.windowSize * DEFAULT_CLIENT_SHARE)),
});
