import type { ModelUpdated, RoutingTable } from '@flywheel/contracts';
import { failpoint, type Logger } from '@flywheel/runtime';
import { LoadedVersions } from './LoadedVersions.js';
import { ModelLoadFailures, type LoadFailure, type LoadRetryPolicy } from './ModelLoadFailures.js';
import { championOnly, type LoadedVersion, type ModelSnapshot } from './modelSnapshot.js';
import type { InferenceEngine, ModelSource, RoutingStore } from './ports.js';
import { newServedModel, type ServedModel, type SwapRecord } from './servedModel.js';
import type { ServingMetrics } from './servingMetrics.js';

export type { SwapRecord } from './servedModel.js';

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

/**
 * Holds every served model's versions and swaps them: loads adapters (and bases) in the
 * background, installs a new immutable snapshot by reference once everything it names is loaded,
 * and releases versions nobody routes to once their in-flight requests have finished.
 * Updates of one model are applied one at a time, in arrival order.
 */
export class ModelHost {
  private readonly states = new Map<string, ServedModel>();
  private readonly versions: LoadedVersions;
  private readonly maxStandby: number;
  private readonly log: Logger;
  private readonly failures: ModelLoadFailures;
  private closed = false;

  constructor(private readonly deps: ModelHostDeps) {
    this.maxStandby = deps.maxStandby ?? 2;
    this.log = deps.logger.child({ component: 'model-host' });
    this.versions = new LoadedVersions({ source: deps.source, engine: deps.engine, metrics: deps.metrics, log: this.log, graceMs: deps.releaseGraceMs ?? 5_000 }, this.states);
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

  /**
   * Makes models known before their load starts: until start() loads them they answer 503
   * model_not_ready and keep the replica unready, rather than 404 while the server is already up.
   */
  expect(models: readonly string[]): void {
    for (const m of models) if (!this.states.has(m)) this.states.set(m, newServedModel());
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
          await this.versions.ensure(state, model, update.version);
          state.standby = [...state.standby.filter((v) => v !== update.version), update.version].slice(-this.maxStandby);
          this.versions.retireUnused(state);
          this.recordSwap(state, model, update.action, receivedAt);
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
          if (current?.challenger?.version === update.version || current?.shadow?.version === update.version) {
            await this.lifecycle(state, model, current.champion.version, update.action, receivedAt);
          } else {
            this.versions.retireUnused(state);
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
      shadow: view(s?.shadow),
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
    await this.versions.close();
  }

  private async lifecycle(state: ServedModel, model: string, champion: string, action: ModelUpdated['action'], receivedAt: number): Promise<void> {
    const revision = state.snapshot?.routing.revision ?? 0;
    const salt = state.snapshot?.routing.salt ?? model;
    await this.install(state, model, { ...championOnly(model, champion, revision), salt }, action, receivedAt);
    // The table that routed the old experiment must not come back through a late redelivery.
    state.staleAtOrBelow = Math.max(state.staleAtOrBelow, revision);
  }

  /** Loads what `table` names, then replaces the snapshot in one assignment. */
  private async install(state: ServedModel, model: string, table: RoutingTable, action: SwapRecord['action'], receivedAt: number): Promise<void> {
    const champion = await this.versions.ensure(state, model, table.champion);
    const challenger = table.challenger === undefined ? undefined : await this.versions.ensure(state, model, table.challenger);
    const shadow = table.shadow === undefined ? undefined : await this.versions.ensure(state, model, table.shadow);
    if (action !== 'start') failpoint('serving.mid-swap'); // loaded, not yet swapped in: a restart must come back on the new table
    state.snapshot = { model, champion, challenger, ...(shadow ? { shadow } : {}), routing: table, installedAt: new Date() };
    this.failures.loaded(model);
    state.standby = state.standby.filter((v) => v !== table.champion && v !== table.challenger && v !== table.shadow);
    this.versions.retireUnused(state);
    const swap = this.recordSwap(state, model, action, receivedAt);
    this.log.info({ model, action, champion: champion.version, challenger: challenger?.version, share: table.challengerShareBps, seconds: swap.seconds }, 'model state swapped');
  }

  private recordSwap(state: ServedModel, model: string, action: SwapRecord['action'], receivedAt: number): SwapRecord {
    this.versions.refreshGauge();
    state.lastSwap = {
      action,
      champion: state.snapshot?.champion.version ?? '',
      challenger: state.snapshot?.challenger?.version,
      seconds: (performance.now() - receivedAt) / 1000,
      at: new Date().toISOString(),
    };
    this.deps.metrics.swapDuration.observe({ model, action }, state.lastSwap.seconds);
    return state.lastSwap;
  }

  private enqueue(model: string, work: (state: ServedModel) => Promise<void>): Promise<void> {
    let state = this.states.get(model);
    if (state === undefined) {
      state = newServedModel();
      this.states.set(model, state);
    }
    const s = state;
    const run = s.queue.then(() => work(s));
    // The queue survives a failed update: the next one starts from the last good snapshot.
    s.queue = run.catch(() => undefined);
    return run;
  }
}
