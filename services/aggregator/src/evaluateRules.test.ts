import { describe, expect, it } from 'vitest';
import { clientCaps, evaluateRules, type ModelStats } from './evaluateRules.js';
import type { RetrainRules } from '@flywheel/contracts';

const rules: RetrainRules = { correctionThreshold: 50, maxDaysBetweenTrainings: 14, accuracyFloor: 0.7, maxAccuracyDrop: 0.15, windowSize: 200, minWindow: 100 };
const now = new Date('2025-06-15T00:00:00Z');
const quiet: ModelStats = { pendingCorrections: 0, pendingFeedback: 0, windowTotal: 0, windowCorrect: 0, peakAccuracy: null, lastTriggerAt: null, oldestPendingAt: null };
const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000);

describe('evaluateRules', () => {
  it('fires the correction rule at exactly the threshold, not before', () => {
    expect(evaluateRules({ ...quiet, pendingCorrections: 49, pendingFeedback: 49 }, rules, now)).toBeUndefined();
    expect(evaluateRules({ ...quiet, pendingCorrections: 50, pendingFeedback: 50 }, rules, now)).toEqual({ reason: 'threshold', details: { pendingCorrections: 50, threshold: 50 } });
  });
  it('fires the performance rule below the floor, only once the window is big enough', () => {
    expect(evaluateRules({ ...quiet, windowTotal: 99, windowCorrect: 10 }, rules, now)).toBeUndefined();
    expect(evaluateRules({ ...quiet, windowTotal: 100, windowCorrect: 69 }, rules, now)).toMatchObject({ reason: 'performance', details: { accuracy: 0.69, accuracyFloor: 0.7 } });
    expect(evaluateRules({ ...quiet, windowTotal: 100, windowCorrect: 70 }, rules, now)).toBeUndefined();
  });
  it('fires the performance rule on a drop from the best window larger than allowed', () => {
    expect(evaluateRules({ ...quiet, windowTotal: 200, windowCorrect: 160, peakAccuracy: 0.95 }, rules, now)).toBeUndefined(); // drop 0.15: not more than allowed
    expect(evaluateRules({ ...quiet, windowTotal: 200, windowCorrect: 158, peakAccuracy: 0.95 }, rules, now)).toMatchObject({ reason: 'performance', details: { drop: 0.16, peakAccuracy: 0.95 } });
  });
  it('fires the schedule rule only with new feedback and after the allowed days', () => {
    expect(evaluateRules({ ...quiet, lastTriggerAt: daysAgo(30) }, rules, now)).toBeUndefined();
    expect(evaluateRules({ ...quiet, pendingFeedback: 3, lastTriggerAt: daysAgo(13.9) }, rules, now)).toBeUndefined();
    expect(evaluateRules({ ...quiet, pendingFeedback: 3, lastTriggerAt: daysAgo(14) }, rules, now)).toMatchObject({ reason: 'schedule', details: { daysSinceLastTraining: 14, maxDays: 14 } });
    expect(evaluateRules({ ...quiet, pendingFeedback: 3, oldestPendingAt: daysAgo(20) }, rules, now)).toMatchObject({ reason: 'schedule' });
  });
  it('names the correction rule first when several fire', () => {
    expect(evaluateRules({ ...quiet, pendingCorrections: 60, pendingFeedback: 60, windowTotal: 100, windowCorrect: 0, lastTriggerAt: daysAgo(30) }, rules, now)?.reason).toBe('threshold');
  });
});

describe('clientCaps', () => {
  it('lets one standard client fill at most 40% of the threshold and of the window, at least 1', () => {
    expect(clientCaps(rules)).toEqual({ corrections: 20, window: 80 });
    expect(clientCaps({ correctionThreshold: 2, windowSize: 1 })).toEqual({ corrections: 1, window: 1 });
    expect(clientCaps(rules, 30).corrections).toBe(30);
  });
});
