import { describe, expect, it } from 'vitest';
import { createPredictionStream, evaluateDrift, simulateDriftMonitor, summarizeWindow, asReference } from './internal/simulation.js';
import { mulberry32 } from './random.js';

// The monitor compares the last 1,000 predictions with a 5,000-prediction reference window
// (hashed-feature buckets, text length, OOV rate, confidence, predicted label, accuracy).
describe('drift simulation', () => {
  it('detects a vocabulary shift (30 % of tokens from a new topic) by PSI within 500 events in every run', () => {
    const runs = 40;
    const delays = Array.from({ length: runs }, (_, i) =>
      simulateDriftMonitor(mulberry32(500 + i), {
        referenceEvents: 5000,
        windowEvents: 1000,
        evaluateEvery: 100,
        stationaryEvents: 1000,
        shiftedEvents: 1500,
        shift: { newVocabularyShare: 0.3 },
      }),
    );
    for (const run of delays) {
      expect(run.falseAlarm).toBe(false);
      expect(run.psiDetectionDelay).not.toBeNull();
      expect(run.psiDetectionDelay ?? Infinity).toBeLessThanOrEqual(500); // observed 300
      expect(run.detectionDelay ?? Infinity).toBeLessThanOrEqual(300); // first signal: OOV-rate KS at 100–200
    }
  });

  it('moves the hashed-feature PSI too: warn at a 30 % vocabulary shift, significant at 50 %', () => {
    const next = createPredictionStream(mulberry32(9));
    const reference = asReference(summarizeWindow(Array.from({ length: 5000 }, () => next(null))));
    const levelOf = (share: number, feature: string, test: string): string | undefined =>
      evaluateDrift(reference, summarizeWindow(Array.from({ length: 1000 }, () => next({ newVocabularyShare: share }))))
        .findings.find((f) => f.feature === feature && f.test === test)?.level;
    expect(levelOf(0.3, 'hashed_features', 'psi')).toBe('warn'); // PSI ≈ 0.20
    expect(levelOf(0.5, 'hashed_features', 'psi')).toBe('significant'); // PSI ≈ 0.49
    expect(levelOf(0.3, 'oov_rate', 'psi')).toBe('significant');
    // Labels were not shifted.
    expect(levelOf(0.3, 'predicted_label', 'chi_square')).toBe('none');
  });

  it('raises no significant drift on a stationary stream in ≥ 95 % of 200 runs (10 windows of 1,000 each)', () => {
    const runs = 200;
    let falseAlarms = 0;
    for (let i = 0; i < runs; i++) {
      const run = simulateDriftMonitor(mulberry32(1000 + i), {
        referenceEvents: 5000,
        windowEvents: 1000,
        evaluateEvery: 1000,
        stationaryEvents: 10_000,
        shiftedEvents: 0,
        shift: null,
      });
      if (run.falseAlarm) falseAlarms += 1;
    }
    expect(falseAlarms / runs).toBeLessThanOrEqual(0.05); // observed 0 %
  });
});
