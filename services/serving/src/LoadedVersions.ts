import type { Logger } from '@flywheel/runtime';
import { BaseModelCache } from './BaseModelCache.js';
import type { LoadedVersion } from './modelSnapshot.js';
import { loadBaseOf } from './loadBaseOf.js';
import type { InferenceEngine, ModelSource } from './ports.js';
import { roleOf, type ServedModel } from './servedModel.js';
import type { ServingMetrics } from './servingMetrics.js';

/**
 * The versions held in memory: loads a version (adapter over a shared base) when a snapshot or the
 * standby list needs it, and releases the ones nothing routes to once their in-flight requests
 * have finished, after a grace period. Keeps the loaded-versions gauge in step.
 */
export class LoadedVersions {
  private readonly bases: BaseModelCache;
  private closed = false;

  constructor(
    private readonly deps: { source: ModelSource; engine: InferenceEngine; metrics: Pick<ServingMetrics, 'loadedVersions'>; log: Logger; graceMs: number },
    private readonly models: ReadonlyMap<string, ServedModel>,
  ) {
    this.bases = new BaseModelCache(deps.engine, deps.log);
  }

  /** The version, loaded now unless it already is (a pending release of it is cancelled). */
  async ensure(state: ServedModel, model: string, version: string): Promise<LoadedVersion> {
    const have = state.loaded.get(version);
    if (have !== undefined) {
      const timer = state.retiring.get(version);
      if (timer !== undefined) {
        clearTimeout(timer);
        state.retiring.delete(version);
      }
      return have;
    }
    const artifact = await this.deps.source.version(model, version);
    const base = await this.bases.acquireWith(model, artifact.baseVersion, () => loadBaseOf(this.deps.engine, artifact));
    let loaded: LoadedVersion;
    try {
      const classifier = base.createClassifier(artifact.adapterBytes, artifact.adapterManifest);
      loaded = { model, version, baseVersion: artifact.baseVersion, classifier, labels: classifier.labels, loadedAt: new Date(), inFlight: 0 };
    } catch (err) {
      await this.bases.release(model, artifact.baseVersion);
      throw err;
    }
    state.loaded.set(version, loaded);
    return loaded;
  }

  /** Schedules the release of loaded versions that nothing routes to and no standby slot holds. */
  retireUnused(state: ServedModel): void {
    const wanted = new Set<string>(state.standby);
    if (state.snapshot) {
      wanted.add(state.snapshot.champion.version);
      if (state.snapshot.challenger) wanted.add(state.snapshot.challenger.version);
      if (state.snapshot.shadow) wanted.add(state.snapshot.shadow.version);
    }
    for (const [version, loaded] of state.loaded) {
      if (wanted.has(version) || state.retiring.has(version)) continue;
      const check = (): void => {
        if (this.closed || state.retiring.get(version) === undefined) return;
        // In-flight requests captured an older snapshot: wait for them before releasing.
        if (loaded.inFlight > 0) {
          state.retiring.set(version, setTimeout(check, 20).unref());
          return;
        }
        state.retiring.delete(version);
        state.loaded.delete(version);
        this.refreshGauge();
        this.bases.release(loaded.model, loaded.baseVersion).catch((err: unknown) => this.deps.log.warn({ err, model: loaded.model }, 'releasing a base failed'));
        this.deps.log.info({ model: loaded.model, version }, 'released a retired version');
      };
      state.retiring.set(version, setTimeout(check, this.deps.graceMs).unref());
    }
  }

  /** Sets the gauge to one series per loaded version, labelled with its role now. */
  refreshGauge(): void {
    const g = this.deps.metrics.loadedVersions;
    g.reset();
    for (const [model, s] of this.models) {
      for (const version of s.loaded.keys()) g.set({ model, version, role: roleOf(s, version) }, 1);
    }
  }

  /** Cancels pending releases and releases every base; serving must have stopped taking requests. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.models.values()) {
      for (const t of s.retiring.values()) clearTimeout(t);
      s.retiring.clear();
    }
    await this.bases.releaseAll();
    await this.deps.engine.close?.();
  }
}
