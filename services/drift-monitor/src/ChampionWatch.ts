import type { Logger } from '@flywheel/runtime';
import { CurrentWindow, ReferenceBuilder, snapshotReference, type Reference, type WindowAccuracyReport } from './driftAnalysis.js';
import type { DriftMetrics } from './driftMetrics.js';
import { textCalibration, type DriftMonitorSettings } from './settings.js';
import { spreadSample, textThresholds, type LabelledText } from './textReference.js';
import type { TrainingSnapshots } from './TrainingSnapshots.js';

/**
 * Per model: the champion version watched, its reference and the open window. `ready` settles once
 * the training snapshot was read (or found missing); predictions wait for it.
 */
export interface WatchedModel {
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
  /** Estimated and realised accuracy of the last closed window. */
  lastAccuracy?: WindowAccuracyReport | undefined;
}

/**
 * Calibrates the reference's text thresholds for full windows now, when the reference is built, so
 * the first window close does not pay for it (other window sizes are calibrated when first needed).
 */
export const calibrateReference = (reference: Reference, s: DriftMonitorSettings): void => {
  const calibration = textCalibration(s);
  if (calibration) textThresholds(reference, s.windowSize, calibration);
};

/** How long a registry answer "V is not the champion" is trusted before asking again. */
const CHAMPION_LOOKUP_TTL_MS = 5_000;

/**
 * Which version of each model is watched, and its reference. One version per model, the champion:
 * at start (from the registry), on promotions and rollbacks, and when champion predictions of a
 * version the registry calls champion arrive before that update. A change of version discards the
 * open window, so no window mixes versions.
 */
export const createChampionWatch = (deps: { settings: DriftMonitorSettings; logger: Logger; metrics: DriftMetrics; snapshots?: TrainingSnapshots | undefined }) => {
  const { settings: s, logger: log, metrics: m } = deps;
  const models = new Map<string, WatchedModel>();
  /** model → version → until when "not the champion" holds (saves a registry read per stale prediction). */
  const notChampion = new Map<string, Map<string, number>>();

  // Never rejects: a rejection would stop the start-up (watchChampions) for every model. A snapshot
  // that cannot be read or used is counted and logged; that model's reference comes from predictions.
  const loadReference = async (model: string, st: WatchedModel): Promise<void> => {
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
      calibrateReference(reference, s);
      st.reference = reference;
      st.window = new CurrentWindow(st.reference);
      log.info({ model, version: st.version, rows: rows.length, used: st.reference.size }, 'reference from the training snapshot');
    } else {
      log.info({ model, version: st.version, referenceSize: s.referenceSize }, 'building the reference from the first predictions');
    }
  };

  /** Starts watching `version` of `model` with a fresh reference and window (no-op if already watched). */
  const watch = (model: string, version: string, why: string): WatchedModel => {
    const old = models.get(model);
    if (old?.version === version) return old;
    const retired = old?.retired ?? new Set<string>();
    if (old) {
      retired.add(old.version);
      if (old.window && old.window.size > 0) log.info({ model, version: old.version, discarded: old.window.size }, 'discarding the open window of the previous version');
    }
    retired.delete(version); // a rollback may bring a version back
    const st: WatchedModel = { version, ready: Promise.resolve(), reference: undefined, builder: new ReferenceBuilder(s.referenceSize, s.buckets), window: undefined, windowSeq: 0, retired };
    models.set(model, st);
    log.info({ model, version, previous: old?.version, why }, 'watching a new champion version');
    st.ready = loadReference(model, st);
    return st;
  };

  /** The registry's champion, with a short memory of negative answers. */
  const isChampion = async (snapshots: TrainingSnapshots, model: string, version: string): Promise<boolean> => {
    const cached = notChampion.get(model)?.get(version);
    if (cached !== undefined && cached > Date.now()) return false;
    const champion = await snapshots.champion(model);
    if (champion === version) return true;
    let byVersion = notChampion.get(model);
    if (!byVersion) notChampion.set(model, (byVersion = new Map()));
    byVersion.set(version, Date.now() + CHAMPION_LOOKUP_TTL_MS);
    return false;
  };

  const settled = async (): Promise<void> => {
    await Promise.all([...models.values()].map((st) => st.ready));
  };

  return {
    watch,
    /** The model's watched state, if any (also tells a caller whether it was superseded). */
    get: (model: string): WatchedModel | undefined => models.get(model),
    entries: (): IterableIterator<[string, WatchedModel]> => models.entries(),
    /** The state a champion prediction of `version` belongs to; undefined when it must be dropped. */
    forPrediction: async (model: string, version: string): Promise<WatchedModel | undefined> => {
      const st = models.get(model);
      if (st?.version === version) return st;
      if (st?.retired.has(version)) return undefined; // a late prediction of a version no longer watched
      if (!deps.snapshots) return watch(model, version, 'first champion prediction of this version');
      // Predictions and model-updates are separate topics: the promotion may not have arrived yet.
      if (await isChampion(deps.snapshots, model, version)) return watch(model, version, 'the registry calls it champion');
      if (!st) {
        const champion = await deps.snapshots.champion(model);
        if (champion === undefined) return watch(model, version, 'the registry knows no champion: first champion prediction');
        watch(model, champion, 'the registry champion');
      }
      return undefined;
    },
    /** Watches every champion the registry knows (call once at start, before consuming). */
    watchChampions: async (): Promise<void> => {
      if (!deps.snapshots) return;
      for (const c of await deps.snapshots.champions()) watch(c.model, c.version, 'champion at start');
      await settled();
    },
    /** Settles once every watched version's snapshot has been read (tests, admin). */
    settled,
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
        /** The last window's estimated accuracy (with its interval) next to the realised one, and which the concept-drift rule used. */
        lastAccuracy: st.lastAccuracy,
      };
    },
  };
};

export type ChampionWatch = ReturnType<typeof createChampionWatch>;
