import type { DriftThresholds, EffectMeasure } from '@flywheel/stats';
import type { TextCalibration } from './textReference.js';

/** How the drift-monitor builds references and windows and judges them (from config). */
export interface DriftMonitorSettings {
  /**
   * Predictions of a newly watched version that form the prediction part of its reference
   * (confidence, serving's OOV rate, accuracy), or all of it when its training snapshot is missing.
   */
  referenceSize: number;
  /** Predictions per window (a window also closes after `windowMaxMs` with at least `minWindow`). */
  windowSize: number;
  windowMaxMs: number;
  minWindow: number;
  /** Hashed-token buckets for the PSI over the vocabulary. */
  buckets: number;
  /** Labelled outcomes needed on both sides before accuracy drop is measured. */
  minLabelled: number;
  /**
   * Predictions whose subjectId starts with one of these are not production traffic (evaluation
   * sets sent through /predict, smoke tests) and are left out of references and windows.
   */
  ignoreSubjectPrefixes?: readonly string[];
  /** Training rows read from a snapshot at most (spread evenly over it). */
  maxSnapshotRows?: number;
  thresholds?: Partial<DriftThresholds>;
  /** Text-feature thresholds against a training snapshot (default: KS D 0.25). */
  snapshotThresholds?: Partial<DriftThresholds>;
  /**
   * False alarms per window over all text statistics, whose thresholds are calibrated on each
   * version's reference (0 or absent: the fixed thresholds, as before calibration existed).
   */
  textFalseAlarmRate?: number;
  /** Stationary windows drawn per calibration (default: enough for the quantile). */
  calibrationDraws?: number;
  /** Effect floors under calibrated thresholds against traffic (default DEFAULT_EFFECT_FLOORS). */
  effectFloors?: Partial<Record<EffectMeasure, number>>;
}

/** The calibration of text thresholds the settings ask for, if any. */
export const textCalibration = (s: Pick<DriftMonitorSettings, 'textFalseAlarmRate' | 'calibrationDraws'>): TextCalibration | undefined =>
  s.textFalseAlarmRate !== undefined && s.textFalseAlarmRate > 0 ? { familyAlpha: s.textFalseAlarmRate, draws: s.calibrationDraws } : undefined;
