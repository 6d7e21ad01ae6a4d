import type { EventOf } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import { calibrateReference, type ChampionWatch } from './ChampionWatch.js';
import { CurrentWindow } from './driftAnalysis.js';
import type { PredictionOutcomes } from './PredictionOutcomes.js';
import type { DriftMonitorSettings } from './settings.js';
import type { WindowReports } from './WindowReports.js';

/**
 * Handles `predictions`: champion traffic of the watched version feeds its reference while that is
 * being built, then its window; a full window is closed into a report. Challenger-slice and
 * evaluation traffic (ignoreSubjectPrefixes) are skipped.
 */
export const onPrediction = (deps: {
  watch: Pick<ChampionWatch, 'get' | 'forPrediction'>; outcomes: PredictionOutcomes; reports: Pick<WindowReports, 'close'>;
  settings: DriftMonitorSettings; logger: Logger;
}) => {
  const ignored = deps.settings.ignoreSubjectPrefixes ?? [];
  const log = deps.logger;
  return async (event: EventOf<'predictions'>): Promise<void> => {
    const p = event.data;
    if (p.variant !== 'champion') return; // the challenger's slice is the experiment's business
    if (p.subjectId !== undefined && ignored.some((x) => p.subjectId!.startsWith(x))) return;
    const model = event.subject;
    const st = await deps.watch.forPrediction(model, p.modelVersion);
    if (!st) return;
    await st.ready;
    if (deps.watch.get(model) !== st) return; // a newer version took over while the snapshot loaded
    const obs = { text: p.text, label: p.label, confidence: p.confidence, servingOovRate: p.oovRate };
    const builder = st.builder;
    if (builder) {
      builder.add(obs);
      // Outcomes of these predictions form the reference accuracy (the snapshot has none).
      deps.outcomes.remember(p.predictionId, st.reference?.outcomes ?? builder.outcomes, p.client);
      if (builder.full) {
        st.builder = undefined;
        if (st.reference) {
          builder.completePredictionPart(st.reference);
          log.info({ model, version: st.version, size: builder.size }, 'confidence reference ready');
        } else {
          st.reference = builder.build();
          calibrateReference(st.reference, deps.settings);
          st.window = new CurrentWindow(st.reference);
          log.info({ model, version: st.version, size: st.reference.size }, 'reference from predictions ready');
          return;
        }
      }
    }
    const window = st.window;
    if (!window) return; // fallback: no window before the reference is complete
    window.add(obs);
    if (!builder) deps.outcomes.remember(p.predictionId, window.outcomes, p.client); // else its outcome counts for the reference
    if (window.size >= deps.settings.windowSize) await deps.reports.close(model, st);
  };
};
