import type { Handlers, Publisher } from '@flywheel/bus';
import { makeEvent, outcomeOf, type DriftReported, type EventOf, type ModelVersion } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import type { DriftThresholds } from '@flywheel/stats';
import { analyseWindow, CurrentWindow, ReferenceBuilder, type Outcomes, type Reference } from './driftAnalysis.js';
import type { DriftMetrics } from './driftMetrics.js';
import type { RetrainTrigger } from './RetrainTrigger.js';

export interface DriftMonitorSettings {
  /** Predictions of a new champion version that form its reference. */
  referenceSize: number;
  /** Predictions per window (a window also closes after `windowMaxMs` with at least `minWindow`). */
  windowSize: number;
  windowMaxMs: number;
  minWindow: number;
  /** Hashed-token buckets for the PSI over the vocabulary. */
  buckets: number;
  /** Labelled outcomes needed on both sides before accuracy drop is measured. */
  minLabelled: number;
  thresholds?: Partial<DriftThresholds>;
}

export interface DriftMonitorDeps {
  publisher: Publisher;
  trigger: RetrainTrigger;
  logger: Logger;
  metrics: DriftMetrics;
  settings: DriftMonitorSettings;
  source: string;
}

/** Per model: the champion version watched, its reference (being built or fixed) and the open window. */
interface ModelState {
  version: string;
  builder: ReferenceBuilder | undefined;
  reference: Reference | undefined;
  window: CurrentWindow | undefined;
  windowSeq: number;
}

const LEVEL_VALUE = { none: 0, warn: 1, significant: 2 } as const;
const PREDICTION_MEMORY = 200_000;

/**
 * The drift-monitor. The reference of each champion version is its first `referenceSize`
 * predictions (the training snapshot is not read yet); after that every `windowSize` predictions
 * form a window compared with the reference. Each window is a `drift-reports` event; significant
 * drift also fires a retraining trigger through the shared lock, with a cooldown.
 * State is in memory: after a restart the reference is rebuilt from the next predictions.
 */
export const createDriftMonitor = (deps: DriftMonitorDeps) => {
  const { settings: s, logger: log, metrics: m } = deps;
  const models = new Map<string, ModelState>();
  /** prediction id → where its outcome counts (reference or a window), so feedback joins the right counters. */
  const predictions = new Map<string, { model: string; outcomes: Outcomes }>();

  const remember = (predictionId: string, model: string, outcomes: Outcomes): void => {
    predictions.set(predictionId, { model, outcomes });
    if (predictions.size > PREDICTION_MEMORY) {
      const oldest = predictions.keys().next();
      if (!oldest.done) predictions.delete(oldest.value);
    }
  };

  const stateFor = (model: string, version: string): ModelState => {
    let st = models.get(model);
    if (!st || st.version !== version) {
      // A new champion version: its own reference, from scratch.
      st = { version, builder: new ReferenceBuilder(s.referenceSize, s.buckets), reference: undefined, window: undefined, windowSeq: 0 };
      models.set(model, st);
      log.info({ model, version, referenceSize: s.referenceSize }, 'building the reference of a new champion version');
    }
    return st;
  };

  const closeWindow = async (model: string, st: ModelState): Promise<DriftReported | undefined> => {
    const { reference, window } = st;
    if (!reference || !window || window.size === 0) return undefined;
    st.window = new CurrentWindow(reference);
    st.windowSeq++;
    const analysis = analyseWindow(reference, window, { minLabelled: s.minLabelled, ...(s.thresholds ? { thresholds: s.thresholds } : {}) });
    for (const x of analysis.measurements) m.score.set({ model, feature: x.feature, test: x.test }, x.effectSize);
    m.level.set({ model }, LEVEL_VALUE[analysis.level]);
    let triggeredRetraining = false;
    if (analysis.level === 'significant') {
      const details: Record<string, number | string | boolean> = { modelVersion: st.version, window: st.windowSeq, predictions: window.size };
      for (const x of analysis.measurements.filter((y) => y.level === 'significant')) details[`${x.feature}_${x.test}`] = x.effectSize;
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
    };
    await deps.publisher.publish('driftReports', makeEvent('driftReports', { source: deps.source, subject: model, data: report }));
    m.reports.inc({ model, level: analysis.level });
    return report;
  };

  const handlers: Handlers = {
    predictions: async (event: EventOf<'predictions'>) => {
      const p = event.data;
      if (p.variant !== 'champion') return; // the challenger's slice is the experiment's business
      const model = event.subject;
      const st = stateFor(model, p.modelVersion);
      const obs = { text: p.text, label: p.label, confidence: p.confidence, servingOovRate: p.oovRate };
      if (st.builder) {
        st.builder.add(obs);
        remember(p.predictionId, model, st.builder.outcomes);
        if (st.builder.full) {
          st.reference = st.builder.build();
          st.builder = undefined;
          st.window = new CurrentWindow(st.reference);
          log.info({ model, version: st.version, size: st.reference.size }, 'reference ready');
        }
        return;
      }
      const window = st.window!;
      window.add(obs);
      remember(p.predictionId, model, window.outcomes);
      if (window.size >= s.windowSize) await closeWindow(model, st);
    },
    feedback: async (event: EventOf<'feedback'>) => {
      const f = event.data;
      const correct = outcomeOf(f);
      if (f.predictionId === undefined || correct === undefined) return;
      const where = predictions.get(f.predictionId);
      if (!where) return; // unknown or forgotten prediction: nothing to attribute
      predictions.delete(f.predictionId); // one outcome per prediction
      where.outcomes.n += 1;
      if (correct) where.outcomes.successes += 1;
    },
  };

  let timer: NodeJS.Timeout | undefined;
  /** Closes windows that have been open longer than `windowMaxMs` with at least `minWindow` predictions. */
  const closeStaleWindows = async (): Promise<void> => {
    for (const [model, st] of models) {
      const w = st.window;
      if (w && w.size >= s.minWindow && Date.now() - w.startedAt.getTime() >= s.windowMaxMs) {
        await closeWindow(model, st).catch((err: unknown) => log.error({ err, model }, 'closing a window failed'));
      }
    }
  };

  return {
    handlers,
    /** Closes a model's open window now (on demand); undefined when there is no reference or no data yet. */
    flush: async (model: string): Promise<DriftReported | undefined> => {
      const st = models.get(model);
      return st ? closeWindow(model, st) : undefined;
    },
    /** Where a model stands: version, reference progress, open window size. */
    status: (model: string) => {
      const st = models.get(model);
      return st && { version: st.version, referenceSize: st.reference?.size ?? st.builder?.size ?? 0, referenceReady: st.reference !== undefined, windowSize: st.window?.size ?? 0, windows: st.windowSeq };
    },
    start: (): void => {
      if (timer || s.windowMaxMs <= 0) return;
      timer = setInterval(() => void closeStaleWindows(), Math.min(s.windowMaxMs, 10_000));
      timer.unref();
    },
    stop: (): void => {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
};

/** The running drift-monitor core. */
export type DriftMonitor = ReturnType<typeof createDriftMonitor>;
