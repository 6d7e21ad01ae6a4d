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
