import { ModelName, ModelVersion } from '@flywheel/contracts';
import { FlywheelError, type Logger } from '@flywheel/runtime';
import type { Champions } from './champions.js';
import { championOnly, type RunDecision } from './decisionTx.js';
import type { Experiment, PgExperimentStore } from './PgExperimentStore.js';
import type { Registry } from './ports.js';
import type { RoutingPublisher } from './RoutingPublisher.js';

export interface DecisionResumerDeps {
  store: PgExperimentStore;
  registry: Registry;
  /** Reads the cached routing table (whose experiment it routes). */
  routing: Pick<RoutingPublisher, 'current'>;
  decide: RunDecision;
  champions: Champions;
  log: Logger;
  /** The promotion steps after the decision row (registry, then guard, events, routing and applied mark in one transaction). */
  applyPromotion(e: Experiment, reason: string): Promise<void>;
}

const reasonOf = (decision: unknown): string => {
  const r = (decision as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' ? r.slice(0, 2000) : 'decision recorded before the crash';
};

/**
 * Finishes decisions a crash interrupted. A decision is written first (the experiment row) and
 * applied after: the registry (its own transaction), then one transaction of ours with the guard,
 * the `model-updates` events (outbox), routing and `applied_at`. A row decided and not applied says
 * exactly what is left to do; every step is idempotent, so re-running one that had already
 * happened changes nothing. It also restores the routing of a running experiment that lost
 * it (a Redis flush, or a crash between a commit and its cache write).
 *
 * `graceMs` leaves alone what this process decided a moment ago and is applying right now; at start
 * (nothing of this process in flight) it is 0, so a restarted router settles old decisions before
 * it handles any new event.
 */
export const createDecisionResumer = (deps: DecisionResumerDeps) => {
  const { store, registry, routing, decide, champions, log } = deps;

  const applyDecided = async (e: Experiment): Promise<void> => {
    const name = ModelName.parse(e.model);
    const champion = await registry.champion(name);
    if (e.state === 'promoted') {
      if (champion === e.championVersion) {
        await deps.applyPromotion(e, `resumed after a restart: ${reasonOf(e.decision)}`);
        return;
      }
      if (champion === e.challengerVersion) {
        // The registry moved; whether the event and routing went out is unknown: send them again.
        await decide(async (tx) => {
          await champions.adopt(tx.store, e.model, champion);
          await tx.announce(e.model, { action: 'promoted', version: champion, reason: `resumed after a restart: ${reasonOf(e.decision)}` });
          await championOnly(tx, e.model, champion);
          await tx.store.markApplied(e.id);
        });
        return;
      }
      // Otherwise an operator changed the champion since: the decision is moot.
    } else {
      if (e.state === 'rejected') await registry.reject(name, ModelVersion.parse(e.challengerVersion), reasonOf(e.decision));
      const table = await routing.current(e.model);
      await decide(async (tx) => {
        if (e.state === 'rejected') await tx.announce(e.model, { action: 'rejected', version: ModelVersion.parse(e.challengerVersion), reason: reasonOf(e.decision) });
        if (table === undefined || table.experimentId === e.id) await championOnly(tx, e.model, champion ?? e.championVersion);
        await tx.store.markApplied(e.id);
      });
      return;
    }
    await store.markApplied(e.id);
  };

  const restoreRouting = async (e: Experiment): Promise<boolean> => {
    const table = await routing.current(e.model);
    if (table?.experimentId === e.id) return false;
    await decide((tx) => tx.route(e.model, { champion: e.championVersion, challenger: e.challengerVersion, challengerShareBps: e.splitBps, salt: e.salt, experimentId: e.id }));
    return true;
  };

  /** Returns how many decisions or routing tables it repaired. */
  return async (o: { graceMs: number } = { graceMs: 10_000 }): Promise<number> => {
    const settled = new Date(Date.now() - o.graceMs);
    let repaired = 0;
    const attempt = async (e: Experiment, what: string, fn: () => Promise<boolean | void>): Promise<void> => {
      try {
        if ((await fn()) === false) return;
        repaired += 1;
        log.warn({ experiment: e.id, model: e.model, state: e.state }, what);
      } catch (err) {
        // A refusal that can never succeed (e.g. the challenger was deprecated meanwhile) ends the attempt.
        if (err instanceof FlywheelError && !err.retriable) {
          log.error({ err, experiment: e.id, model: e.model }, 'an interrupted decision can no longer be applied; marked done');
          await store.markApplied(e.id);
          return;
        }
        log.error({ err, experiment: e.id, model: e.model }, 'could not finish an interrupted decision; will retry at the next tick');
      }
    };
    for (const e of await store.unapplied(settled)) await attempt(e, 'finished a decision a crash had interrupted', () => applyDecided(e));
    for (const e of await store.list({ state: 'running', limit: 1000 })) {
      if (e.startedAt > settled) continue;
      await attempt(e, 'restored the routing of a running experiment', () => restoreRouting(e));
    }
    return repaired;
  };
};
