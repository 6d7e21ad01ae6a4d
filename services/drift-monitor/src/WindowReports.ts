import { makeEvent, type DriftReported, type ModelVersion } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import type { ChampionWatch, WatchedModel } from './ChampionWatch.js';
import { analyseWindow, CurrentWindow } from './driftAnalysis.js';
import type { DriftMetrics } from './driftMetrics.js';
import type { ReportPublisher, RetrainTriggers } from './ports.js';
import { textCalibration, type DriftMonitorSettings } from './settings.js';

const LEVEL_VALUE = { none: 0, warn: 1, significant: 2 } as const;

/**
 * Turns a closed window into a `drift-reports` event: analyses it against the reference, sets the
 * gauges, and on significant drift asks for retraining (through the lease, outbox and cooldown of
 * RetrainTrigger) before the report says whether it did.
 */
export const createWindowReports = (deps: {
  settings: DriftMonitorSettings; trigger: RetrainTriggers; publisher: ReportPublisher; metrics: DriftMetrics; logger: Logger; source: string;
}) => {
  const { settings: s, metrics: m, logger: log } = deps;

  /** Closes the model's open window now; undefined when there is no reference or no data yet. */
  const close = async (model: string, st: WatchedModel): Promise<DriftReported | undefined> => {
    const { reference, window } = st;
    if (!reference || !window || window.size === 0) return undefined;
    st.window = new CurrentWindow(reference);
    st.windowSeq++;
    const analysis = analyseWindow(reference, window, {
      minLabelled: s.minLabelled, ...(s.thresholds ? { thresholds: s.thresholds } : {}), ...(s.snapshotThresholds ? { snapshotThresholds: s.snapshotThresholds } : {}),
      calibration: textCalibration(s), floors: s.effectFloors,
    });
    for (const x of analysis.measurements) m.score.set({ model, feature: x.feature, test: x.test }, x.effectSize);
    m.level.set({ model }, LEVEL_VALUE[analysis.level]);
    const acc = analysis.accuracy;
    if (acc) {
      m.estimatedAccuracy.set({ model }, acc.estimated);
      m.estimatedAccuracyBound.set({ model, bound: 'lower' }, acc.estimatedLower);
      m.estimatedAccuracyBound.set({ model, bound: 'upper' }, acc.estimatedUpper);
      m.accuracyLabelled.set({ model }, acc.labelled);
      if (acc.realised === undefined) m.realisedAccuracy.remove({ model });
      else m.realisedAccuracy.set({ model }, acc.realised);
    }
    st.lastAccuracy = acc;
    let triggeredRetraining = false;
    if (analysis.level === 'significant') {
      const details: Record<string, number | string | boolean> = { modelVersion: st.version, reference: reference.source, window: st.windowSeq, predictions: window.size };
      for (const x of analysis.measurements.filter((y) => y.level === 'significant')) details[`${x.feature}_${x.test}`] = x.effectSize;
      if (acc) details.accuracyBasis = acc.basis;
      const outcome = await deps.trigger.fire(model, details, analysis.reasons.join('; '));
      triggeredRetraining = outcome.triggered;
      if (outcome.triggered) m.triggers.inc({ model });
      log.warn({ model, version: st.version, reasons: analysis.reasons, outcome }, 'significant drift');
    }
    const report: DriftReported = {
      modelVersion: st.version as ModelVersion,
      windowStart: window.startedAt.toISOString(),
      windowEnd: new Date().toISOString(),
      predictions: window.size,
      labelled: window.outcomes.n,
      measurements: analysis.measurements,
      level: analysis.level,
      triggeredRetraining,
      reference: reference.source,
      ...(acc ? { accuracy: acc } : {}),
    };
    await deps.publisher.publish('driftReports', makeEvent('driftReports', { source: deps.source, subject: model, data: report }));
    m.reports.inc({ model, level: analysis.level });
    return report;
  };

  /** Closes windows open longer than `windowMaxMs` with at least `minWindow` predictions (main.ts's schedule). */
  const closeStale = async (watch: Pick<ChampionWatch, 'entries'>): Promise<void> => {
    for (const [model, st] of watch.entries()) {
      const w = st.window;
      if (w && w.size >= s.minWindow && Date.now() - w.startedAt.getTime() >= s.windowMaxMs) {
        await close(model, st).catch((err: unknown) => log.error({ err, model }, 'closing a window failed'));
      }
    }
  };

  return { close, closeStale };
};

export type WindowReports = ReturnType<typeof createWindowReports>;
