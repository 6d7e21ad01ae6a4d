import type { ModelUpdated, RoutingTable } from '@flywheel/contracts';
import { failpoint, type Logger } from '@flywheel/runtime';
import { BaseModelCache } from './BaseModelCache.js';
import { ModelLoadFailures, type LoadFailure, type LoadRetryPolicy } from './ModelLoadFailures.js';
import { championOnly, type LoadedVersion, type ModelSnapshot } from './modelSnapshot.js';
import type { InferenceEngine, ModelSource, RoutingStore } from './ports.js';
import type { ServingMetrics } from './servingMetrics.js';

export interface ModelHostDeps {
  source: ModelSource;
  engine: InferenceEngine;
  routing: RoutingStore;
  metrics: ServingMetrics;
  logger: Logger;
  /** How long a version no longer routed stays loaded before it is released (after its last request ends). */
  releaseGraceMs?: number;
  /** Loaded-but-unrouted challengers kept per model (oldest dropped first). */
  maxStandby?: number;
  /** Backoff of the retries of a model that failed to load at start. */
  loadRetry?: LoadRetryPolicy;
}

/** The last state change of a model, shown by GET /v1/models/:model (and read by bench:swap). */
export interface SwapRecord {
  action: ModelUpdated['action'] | 'start';
  champion: string;
  challenger: string | undefined;
  /** From the update being received to the new snapshot serving. */
  seconds: number;
  at: string;
}

interface ModelState {
  snapshot: ModelSnapshot | undefined;
  loaded: Map<string, LoadedVersion>;
  /** Versions registered as challengers and loaded, waiting for a routing table that names them. */
  standby: string[];
  retiring: Map<string, NodeJS.Timeout>;
  /** After a lifecycle event (promote, roll back, reject) a table of this revision or older is stale. */
  staleAtOrBelow: number;
  queue: Promise<unknown>;
  lastSwap: SwapRecord | undefined;
}

/**
 * Holds every served model's versions and swaps them: loads adapters (and bases) in the
 * background, installs a new immutable snapshot by reference once everything it names is loaded,
 * and releases versions nobody routes to once their in-flight requests have finished.
 * Updates of one model are applied one at a time, in arrival order.
 */
export class ModelHost {
  private readonly states = new Map<string, ModelState>();
  private readonly bases: BaseModelCache;
  private readonly graceMs: number;
  private readonly maxStandby: number;
  private readonly log: Logger;
  private readonly failures: ModelLoadFailures;
  private closed = false;

  constructor(private readonly deps: ModelHostDeps) {
    this.graceMs = deps.releaseGraceMs ?? 5_000;
    this.maxStandby = deps.maxStandby ?? 2;
    this.log = deps.logger.child({ component: 'model-host' });
    this.bases = new BaseModelCache(deps.engine, this.log);
    const retry = (model: string) => void this.start(model);
    this.failures = new ModelLoadFailures({ metrics: deps.metrics, logger: this.log, retry, ...(deps.loadRetry ? { policy: deps.loadRetry } : {}) });
  }

  /** The snapshot serving `model` now (hot path: a map lookup), or undefined when unknown or not loaded yet. */
  snapshot(model: string): ModelSnapshot | undefined {
    return this.states.get(model)?.snapshot;
  }

  /** Whether the model is known to this replica (configured or announced), loaded or not. */
  knows(model: string): boolean {
    return this.states.has(model);
  }

  /** Names of the models this replica knows, sorted. */
  models(): string[] {
    return [...this.states.keys()].sort();
  }

  /** True when every known model has a champion loaded or failed to load (it is retried; the others serve). */
  ready(): boolean {
    for (const [model, s] of this.states) if (s.snapshot === undefined && this.failures.get(model) === undefined) return false;
    return true;
  }

  /** Why `model` is not served, while its load keeps failing. */
  loadFailure(model: string): LoadFailure | undefined {
    return this.failures.get(model);
  }

  /** Every model whose load keeps failing, with the reason. */
  loadFailures(): LoadFailure[] {
    return this.failures.list();
  }

  /**
   * Loads the model's current state: the cached routing table when the ab-router wrote one, else
   * the registry's champion at 100 %. A model without a champion yet stays known but not ready
   * until a model update names one. Never throws: a model that cannot be loaded (missing or damaged
   * artifacts) is recorded as failed, answers 503 and is retried with backoff; the others serve.
   */
  start(model: string): Promise<void> {
    return this.enqueue(model, async (state) => {
      if (state.snapshot !== undefined || this.closed) return; // an update arrived first and is newer
      const t0 = performance.now();
      try {
        const cached = await this.deps.routing.get(model);
        const champion = cached?.champion ?? (await this.deps.source.champion(model));
        if (champion === undefined) {
          this.failures.loaded(model);
          this.log.warn({ model }, 'model has no champion in the registry yet; it answers 503 until one is promoted');
          return;
        }
        await this.install(state, model, cached ?? championOnly(model, champion), 'start', t0);
      } catch (err) {
        if (!this.closed) this.failures.failed(model, err);
      }
    });
  }

  /** Applies one `model-updates` event; resolves once the new state serves (or the update was ignored). */
  apply(model: string, update: ModelUpdated, receivedAt = performance.now()): Promise<void> {
    return this.enqueue(model, async (state) => {
      const current = state.snapshot;
      switch (update.action) {
        case 'challenger_registered': {
          if (current?.champion.version === update.version || current?.challenger?.version === update.version) return;
          await this.ensureLoaded(state, model, update.version);
          state.standby = [...state.standby.filter((v) => v !== update.version), update.version].slice(-this.maxStandby);
          this.retireUnused(state);
          state.lastSwap = this.swapRecord(update.action, state, receivedAt);
          this.deps.metrics.swapDuration.observe({ model, action: update.action }, state.lastSwap.seconds);
          this.log.info({ model, version: update.version }, 'challenger loaded; it serves once a routing table names it');
          return;
        }
        case 'routing_changed': {
          const table = update.routing;
          if (current !== undefined && (table.revision < current.routing.revision || table.revision <= state.staleAtOrBelow)) {
            this.log.info({ model, revision: table.revision, current: current.routing.revision }, 'ignored an older routing table');
            return;
          }
          await this.install(state, model, table, update.action, receivedAt);
          return;
        }
        case 'promoted':
        case 'rolled_back': {
          await this.lifecycle(state, model, update.version, update.action, receivedAt);
          return;
        }
        case 'rejected': {
          state.standby = state.standby.filter((v) => v !== update.version);
          if (current?.challenger?.version === update.version) {
            await this.lifecycle(state, model, current.champion.version, update.action, receivedAt);
          } else {
            this.retireUnused(state);
          }
          return;
        }
      }
    });
  }

  /** What GET /v1/models/:model shows. */
  describe(model: string) {
    const state = this.states.get(model);
    if (state === undefined) return undefined;
    const view = (v: LoadedVersion | undefined) =>
      v && { version: v.version, baseVersion: v.baseVersion, labels: v.labels, loadedAt: v.loadedAt.toISOString() };
    const s = state.snapshot;
    return {
      model,
      ready: s !== undefined,
      champion: view(s?.champion),
      challenger: view(s?.challenger),
      routing: s?.routing,
      loaded: [...state.loaded.keys()].sort(),
      standby: [...state.standby],
      lastSwap: state.lastSwap,
      loadFailure: this.failures.get(model),
    };
  }

  /** Releases every base; serving must have stopped taking requests. */
  async close(): Promise<void> {
    this.closed = true;
    this.failures.close();
    for (const s of this.states.values()) {
      for (const t of s.retiring.values()) clearTimeout(t);
      s.retiring.clear();
    }
    await this.bases.releaseAll();
  }

  private async lifecycle(state: ModelState, model: string, champion: string, action: ModelUpdated['action'], receivedAt: number): Promise<void> {
    const revision = state.snapshot?.routing.revision ?? 0;
    const salt = state.snapshot?.routing.salt ?? model;
    await this.install(state, model, { ...championOnly(model, champion, revision), salt }, action, receivedAt);
    // The table that routed the old experiment must not come back through a late redelivery.
    state.staleAtOrBelow = Math.max(state.staleAtOrBelow, revision);
  }

  /** Loads what `table` names, then replaces the snapshot in one assignment. */
  private async install(state: ModelState, model: string, table: RoutingTable, action: SwapRecord['action'], receivedAt: number): Promise<void> {
    const champion = await this.ensureLoaded(state, model, table.champion);
    const challenger = table.challenger === undefined ? undefined : await this.ensureLoaded(state, model, table.challenger);
    if (action !== 'start') failpoint('serving.mid-swap'); // loaded, not yet swapped in: a restart must come back on the new table
    state.snapshot = { model, champion, challenger, routing: table, installedAt: new Date() };
    this.failures.loaded(model);
    state.standby = state.standby.filter((v) => v !== table.champion && v !== table.challenger);
    this.retireUnused(state);
    state.lastSwap = this.swapRecord(action, state, receivedAt);
    this.deps.metrics.swapDuration.observe({ model, action }, state.lastSwap.seconds);
    this.log.info({ model, action, champion: champion.version, challenger: challenger?.version, share: table.challengerShareBps, seconds: state.lastSwap.seconds }, 'model state swapped');
  }

  private swapRecord(action: SwapRecord['action'], state: ModelState, receivedAt: number): SwapRecord {
    this.refreshGauge();
    return {
      action,
      champion: state.snapshot?.champion.version ?? '',
      challenger: state.snapshot?.challenger?.version,
      seconds: (performance.now() - receivedAt) / 1000,
      at: new Date().toISOString(),
    };
  }

  private async ensureLoaded(state: ModelState, model: string, version: string): Promise<LoadedVersion> {
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
    const base = await this.bases.acquire(model, artifact.baseVersion, () => artifact.baseOnnx());
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
  private retireUnused(state: ModelState): void {
    const wanted = new Set<string>(state.standby);
    if (state.snapshot) {
      wanted.add(state.snapshot.champion.version);
      if (state.snapshot.challenger) wanted.add(state.snapshot.challenger.version);
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
        this.bases.release(loaded.model, loaded.baseVersion).catch((err: unknown) => this.log.warn({ err, model: loaded.model }, 'releasing a base failed'));
        this.log.info({ model: loaded.model, version }, 'released a retired version');
      };
      state.retiring.set(version, setTimeout(check, this.graceMs).unref());
    }
  }

  private refreshGauge(): void {
    const g = this.deps.metrics.loadedVersions;
    g.reset();
    for (const [model, s] of this.states) {
      for (const version of s.loaded.keys()) {
        const role =
          s.snapshot?.champion.version === version ? 'champion'
          : s.snapshot?.challenger?.version === version ? 'challenger'
          : s.retiring.has(version) ? 'retiring'
          : 'standby';
        g.set({ model, version, role }, 1);
      }
    }
  }

  private enqueue(model: string, work: (state: ModelState) => Promise<void>): Promise<void> {
    let state = this.states.get(model);
    if (state === undefined) {
      state = { snapshot: undefined, loaded: new Map(), standby: [], retiring: new Map(), staleAtOrBelow: -1, queue: Promise.resolve(), lastSwap: undefined };
      this.states.set(model, state);
    }
    const s = state;
    const run = s.queue.then(() => work(s));
    // The queue survives a failed update: the next one starts from the last good snapshot.
    s.queue = run.catch(() => undefined);
    return run;
  }
}
