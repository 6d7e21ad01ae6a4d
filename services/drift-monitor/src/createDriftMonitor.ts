import type { Handlers } from '@flywheel/bus';
import type { Logger } from '@flywheel/runtime';
import { createChampionWatch } from './ChampionWatch.js';
import type { DriftMetrics } from './driftMetrics.js';
import { onFeedback } from './onFeedback.js';
import { onModelUpdate } from './onModelUpdate.js';
import { onPrediction } from './onPrediction.js';
import type { ReportPublisher, RetrainTriggers } from './ports.js';
import { PredictionOutcomes } from './PredictionOutcomes.js';
import type { DriftMonitorSettings } from './settings.js';
import type { TrainingSnapshots } from './TrainingSnapshots.js';
import { createWindowReports } from './WindowReports.js';

export type { DriftMonitorSettings } from './settings.js';

export interface DriftMonitorDeps {
  publisher: ReportPublisher;
  trigger: RetrainTriggers;
  logger: Logger;
  metrics: DriftMetrics;
  settings: DriftMonitorSettings;
  source: string;
  /** Champions and training snapshots; without it every reference comes from predictions. */
  snapshots?: TrainingSnapshots | undefined;
}

/**
 * The drift-monitor core, without transport. It watches one version per model, the champion
 * (ChampionWatch). The reference of a watched version comes from its training snapshot (text
 * length, hashed tokens, OOV rate, label distribution); confidence, serving's OOV rate and accuracy
 * have no snapshot counterpart and come from its first `referenceSize` predictions. When the
 * snapshot cannot be read, the whole reference comes from those predictions (the report's
 * `reference` says which). Every `windowSize` predictions of the watched version form a window;
 * each window is a `drift-reports` event, and significant drift also fires a retraining trigger
 * (WindowReports). main.ts consumes `handlers` and runs `closeStaleWindows` on a schedule.
 */
export const createDriftMonitor = (deps: DriftMonitorDeps) => {
  const watch = createChampionWatch(deps);
  const outcomes = new PredictionOutcomes();
  const reports = createWindowReports(deps);
  const handlers: Handlers = {
    predictions: onPrediction({ watch, outcomes, reports, settings: deps.settings, logger: deps.logger }),
    modelUpdates: onModelUpdate({ watch }),
    feedback: onFeedback({ outcomes }),
  };
  return {
    handlers,
    /** Closes a model's open window now (on demand); undefined when there is no reference or no data yet. */
    flush: async (model: string) => {
      const st = watch.get(model);
      return st ? reports.close(model, st) : undefined;
    },
    /** Closes windows open longer than `windowMaxMs` with at least `minWindow` predictions. */
    closeStaleWindows: () => reports.closeStale(watch),
    status: watch.status,
    watchChampions: watch.watchChampions,
    settled: watch.settled,
  };
};

/** The drift-monitor core. */
export type DriftMonitor = ReturnType<typeof createDriftMonitor>;
