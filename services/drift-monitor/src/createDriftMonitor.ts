import type { Handlers, Publisher } from '@flywheel/bus';
import { makeEvent, outcomeOf, type DriftReported, type EventOf, type ModelVersion } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import type { DriftThresholds } from '@flywheel/stats';
import { analyseWindow, CurrentWindow, ReferenceBuilder, snapshotReference, type Outcomes, type Reference } from './driftAnalysis.js';
import type { DriftMetrics } from './driftMetrics.js';
import type { RetrainTrigger } from './RetrainTrigger.js';
import { spreadSample, type LabelledText } from './textReference.js';
import type { TrainingSnapshots } from './TrainingSnapshots.js';

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
}

export interface DriftMonitorDeps {
  publisher: Publisher;
  trigger: Pick<RetrainTrigger, 'fire'>;
  logger: Logger;
  metrics: DriftMetrics;
  settings: DriftMonitorSettings;
  source: string;
  /** Champions and training snapshots; without it every reference comes from predictions. */
  snapshots?: TrainingSnapshots | undefined;
}

/**
 * Per model: the champion version watched, its reference and the open window. `ready` settles once
 * the training snapshot was read (or found missing); predictions wait for it.
 */
interface ModelState {
  version: string;
  ready: Promise<void>;
  /** The text part from the snapshot (fixed) or, in the fallback, all of it once `builder` is full. */
  reference: Reference | undefined;
  /** The version's first predictions while they are still being collected. */
  builder: ReferenceBuilder | undefined;
  window: CurrentWindow | undefined;
  windowSeq: number;
  /** Versions this model was watched under before: their late predictions are dropped. */
  retired: Set<string>;
}

const LEVEL_VALUE = { none: 0, warn: 1, significant: 2 } as const;
const PREDICTION_MEMORY = 200_000;
/** How long a registry answer "V is not the champion" is trusted before asking again. */
const CHAMPION_LOOKUP_TTL_MS = 5_000;

/**
 * The drift-monitor. It watches one version per model, the champion: at start (from the registry),
 * on `model-updates` promoted / rolled_back, and when champion predictions of a version the registry
 * calls champion arrive before that update. The reference of a watched version comes from its
 * training snapshot (text length, hashed tokens, OOV rate, label distribution); confidence,
 * serving's OOV rate and accuracy have no snapshot counterpart and come from its first
 * `referenceSize` predictions. When the snapshot cannot be read, the whole reference comes from
 * those predictions (the report's `reference` says which). Every `windowSize` predictions of the
 * watched version form a window; a change of version discards the open window, so no window mixes
 * versions. Each window is a `drift-reports` event; significant drift also fires a retraining
 * trigger through the shared lock, with a cooldown.
 */
export const createDriftMonitor = (deps: DriftMonitorDeps) => {
  const { settings: s, logger: log, metrics: m } = deps;
  const models = new Map<string, ModelState>();
  const ignored = s.ignoreSubjectPrefixes ?? [];
  /** prediction id → where its outcome counts (reference or a window), so feedback joins the right counters. */
  const predictions = new Map<string, { model: string; outcomes: Outcomes }>();
  /** model → version → until when "not the champion" holds (saves a registry read per stale prediction). */
  const notChampion = new Map<string, Map<string, number>>();

  const remember = (predictionId: string, model: string, outcomes: Outcomes): void => {
    predictions.set(predictionId, { model, outcomes });
    if (predictions.size > PREDICTION_MEMORY) {
      const oldest = predictions.keys().next();
      if (!oldest.done) predictions.delete(oldest.value);
    }
  };

  // Never rejects: a rejection would stop the start-up (watchChampions) for every model. A snapshot
  // that cannot be read or used is counted and logged; that model's reference comes from predictions.
  const loadReference = async (model: string, st: ModelState): Promise<void> => {
    let rows: LabelledText[] | undefined;
    let reference: Reference | undefined;
    if (deps.snapshots) {
      try {
        rows = await deps.snapshots.rows(model, st.version);
        if (rows === undefined) log.warn({ model, version: st.version }, 'the registry has no such version: its reference will come from its first predictions');
        else if (rows.length > 0) reference = snapshotReference(spreadSample(rows, s.maxSnapshotRows ?? 50_000), s.buckets);
      } catch (err) {
        m.snapshotFailures.inc({ model });
        log.error({ err, model, version: st.version }, 'the training snapshot of this champion could not be read or used: its reference will come from its first predictions (restore or re-register its artifacts; other models are unaffected)');
      }
    }
    if (models.get(model) !== st) return; // superseded while loading
    if (rows && reference) {
      st.reference = reference;
      st.window = new CurrentWindow(st.reference);
      log.info({ model, version: st.version, rows: rows.length, used: st.reference.size }, 'reference from the training snapshot');
    } else {
      log.info({ model, version: st.version, referenceSize: s.referenceSize }, 'building the reference from the first predictions');
    }
  };

  /** Starts watching `version` of `model` with a fresh reference and window (no-op if already watched). */
  const watch = (model: string, version: string, why: string): ModelState => {
    const old = models.get(model);
    if (old?.version === version) return old;
    const retired = old?.retired ?? new Set<string>();
    if (old) {
      retired.add(old.version);
      if (old.window && old.window.size > 0) log.info({ model, version: old.version, discarded: old.window.size }, 'discarding the open window of the previous version');
    }
    retired.delete(version); // a rollback may bring a version back
    const st: ModelState = { version, ready: Promise.resolve(), reference: undefined, builder: new ReferenceBuilder(s.referenceSize, s.buckets), window: undefined, windowSeq: 0, retired };
    models.set(model, st);
    log.info({ model, version, previous: old?.version, why }, 'watching a new champion version');
    st.ready = loadReference(model, st);
    return st;
  };

  /** The registry's champion, with a short memory of negative answers. */
  const isChampion = async (model: string, version: string): Promise<boolean> => {
    const cached = notChampion.get(model)?.get(version);
    if (cached !== undefined && cached > Date.now()) return false;
    const champion = await deps.snapshots!.champion(model);
    if (champion === version) return true;
    let byVersion = notChampion.get(model);
    if (!byVersion) notChampion.set(model, (byVersion = new Map()));
    byVersion.set(version, Date.now() + CHAMPION_LOOKUP_TTL_MS);
    return false;
  };

  /** The state a champion prediction of `version` belongs to; undefined when it must be dropped. */
  const stateForPrediction = async (model: string, version: string): Promise<ModelState | undefined> => {
    const st = models.get(model);
    if (st?.version === version) return st;
    if (st?.retired.has(version)) return undefined; // a late prediction of a version no longer watched
    if (!deps.snapshots) return watch(model, version, 'first champion prediction of this version');
    // Predictions and model-updates are separate topics: the promotion may not have arrived yet.
    if (await isChampion(model, version)) return watch(model, version, 'the registry calls it champion');
    if (!st) {
      const champion = await deps.snapshots.champion(model);
      if (champion === undefined) return watch(model, version, 'the registry knows no champion: first champion prediction');
      watch(model, champion, 'the registry champion');
    }
    return undefined;
  };

  const closeWindow = async (model: string, st: ModelState): Promise<DriftReported | undefined> => {
    const { reference, window } = st;
    if (!reference || !window || window.size === 0) return undefined;
    st.window = new CurrentWindow(reference);
    st.windowSeq++;
    const analysis = analyseWindow(reference, window, {
      minLabelled: s.minLabelled, ...(s.thresholds ? { thresholds: s.thresholds } : {}), ...(s.snapshotThresholds ? { snapshotThresholds: s.snapshotThresholds } : {}),
    });
    for (const x of analysis.measurements) m.score.set({ model, feature: x.feature, test: x.test }, x.effectSize);
    m.level.set({ model }, LEVEL_VALUE[analysis.level]);
    let triggeredRetraining = false;
    if (analysis.level === 'significant') {
      const details: Record<string, number | string | boolean> = { modelVersion: st.version, reference: reference.source, window: st.windowSeq, predictions: window.size };
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
      reference: reference.source,
    };
    await deps.publisher.publish('driftReports', makeEvent('driftReports', { source: deps.source, subject: model, data: report }));
    m.reports.inc({ model, level: analysis.level });
    return report;
  };

  const handlers: Handlers = {
    predictions: async (event: EventOf<'predictions'>) => {
      const p = event.data;
      if (p.variant !== 'champion') return; // the challenger's slice is the experiment's business
      if (p.subjectId !== undefined && ignored.some((x) => p.subjectId!.startsWith(x))) return;
      const model = event.subject;
      const st = await stateForPrediction(model, p.modelVersion);
      if (!st) return;
      await st.ready;
      if (models.get(model) !== st) return; // a newer version took over while the snapshot loaded
      const obs = { text: p.text, label: p.label, confidence: p.confidence, servingOovRate: p.oovRate };
      const builder = st.builder;
      if (builder) {
        builder.add(obs);
        // Outcomes of these predictions form the reference accuracy (the snapshot has none).
        remember(p.predictionId, model, st.reference?.outcomes ?? builder.outcomes);
        if (builder.full) {
          st.builder = undefined;
          if (st.reference) {
            builder.completePredictionPart(st.reference);
            log.info({ model, version: st.version, size: builder.size }, 'confidence reference ready');
          } else {
            st.reference = builder.build();
            st.window = new CurrentWindow(st.reference);
            log.info({ model, version: st.version, size: st.reference.size }, 'reference from predictions ready');
            return;
          }
        }
      }
      const window = st.window;
      if (!window) return; // fallback: no window before the reference is complete
      window.add(obs);
      if (!builder) remember(p.predictionId, model, window.outcomes); // else its outcome counts for the reference
      if (window.size >= s.windowSize) await closeWindow(model, st);
    },
    modelUpdates: async (event: EventOf<'modelUpdates'>) => {
      const u = event.data;
      if (u.action === 'promoted') watch(event.subject, u.version, `promoted${u.previous ? ` over ${u.previous}` : ''}`);
      else if (u.action === 'rolled_back') watch(event.subject, u.version, `rolled back from ${u.from}`);
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
    /** Where a model stands: version, reference source and progress, open window size. */
    status: (model: string) => {
      const st = models.get(model);
      return st && {
        version: st.version,
        reference: st.reference?.source,
        referenceSize: st.reference?.size ?? st.builder?.size ?? 0,
        referenceReady: st.reference !== undefined,
        confidenceReferenceReady: st.reference?.confidence !== undefined,
        windowSize: st.window?.size ?? 0,
        windows: st.windowSeq,
      };
    },
    /** Watches every champion the registry knows (call once at start, before consuming). */
    watchChampions: async (): Promise<void> => {
      if (!deps.snapshots) return;
      const champions = await deps.snapshots.champions();
      for (const c of champions) watch(c.model, c.version, 'champion at start');
      await Promise.all([...models.values()].map((st) => st.ready));
    },
    /** Settles once every watched version's snapshot has been read (tests, admin). */
    settled: async (): Promise<void> => {
      await Promise.all([...models.values()].map((st) => st.ready));
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
