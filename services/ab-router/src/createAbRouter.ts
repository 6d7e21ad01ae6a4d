import type { Handlers } from '@flywheel/bus';
import type { Logger } from '@flywheel/runtime';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import { createChampionGuard, type HealthSettings } from './championGuard.js';
import { createChampions } from './champions.js';
import type { RunDecision } from './decisionTx.js';
import { createEvaluation } from './evaluation.js';
import { createExperimentLifecycle } from './experimentLifecycle.js';
import type { ExperimentSettingsInput } from './experimentSettings.js';
import { createExperimentViews } from './experimentView.js';
import { onFeedback } from './onFeedback.js';
import { onModelUpdates } from './onModelUpdates.js';
import { onPredictions } from './onPredictions.js';
import type { PgExperimentStore } from './PgExperimentStore.js';
import type { GuardedChampions, Registry } from './ports.js';
import { createChallengerReconciler } from './reconcileChallengers.js';
import { createDecisionResumer } from './resumeDecisions.js';
import type { RoutingPublisher } from './RoutingPublisher.js';

export interface AbRouterDeps {
  store: PgExperimentStore;
  routing: RoutingPublisher;
  registry: Registry;
  /** One transaction of experiment, champion and routing rows with their outbox events (createDecisionTx). */
  decide: RunDecision;
  logger: Logger;
  metrics: AbRouterMetrics;
  settings: { defaults: ExperimentSettingsInput; perModel: Readonly<Record<string, ExperimentSettingsInput>> };
  health: HealthSettings;
  /**
   * Whether this instance leads (createPgLeadership in main.ts; default: always). Followers do not
   * start experiments from events; the leader's tick reconciles them (see onModelUpdates).
   */
  isLeader?: () => boolean;
}

/**
 * The ab-router's core, assembled from its parts: it starts an experiment per registered
 * challenger (experimentLifecycle), joins predictions with feedback per arm (the handlers), decides
 * on schedule and on demand (evaluation), rolls a failing champion back (championGuard) and
 * finishes decisions a crash interrupted (resumeDecisions). main.ts wires it to the service.
 */
export const createAbRouter = (deps: AbRouterDeps) => {
  const { store, registry, decide, logger: log, metrics } = deps;
  const champions = createChampions(deps.health);
  const views = createExperimentViews({ store, metrics });
  const lifecycle = createExperimentLifecycle({ store, registry, decide, champions, views, metrics, log, settings: deps.settings });
  const evaluation = createEvaluation({ store, views, lifecycle, log });
  const guard = createChampionGuard({ store, registry, decide, champions, lifecycle, health: deps.health, metrics, log });
  const resumeExperiments = createDecisionResumer({ store, registry, routing: deps.routing, decide, champions, log, applyPromotion: lifecycle.applyPromotion });

  const reconcileChallengers = createChallengerReconciler({ store, registry, experiments: lifecycle, log });
  /** Finishes every decision a crash interrupted: experiments' decisions and routing, and rollbacks. Returns how many. */
  const resumeDecisions = async (o?: { graceMs: number }): Promise<number> => (await resumeExperiments(o)) + (await guard.resumeRollbacks(o));

  const guarded: GuardedChampions = {
    current: async (model) => (await store.champion(model))?.version,
    adopt: (model, version) => champions.adopt(store, model, version),
  };
  const handlers: Handlers = {
    predictions: onPredictions({ outcomes: store, champions: guarded }),
    feedback: onFeedback({ outcomes: store }),
    modelUpdates: onModelUpdates({ experiments: { running: (m) => store.running(m), start: (m, v) => lifecycle.start(m, v), stop: (id, r) => lifecycle.stop(id, r) }, champions: guarded, ...(deps.isLeader ? { isLeader: deps.isLeader } : {}) }),
  };

  return {
    handlers,
    startExperiment: lifecycle.start,
    stopExperiment: (id: string, reason: string) => lifecycle.stop(id, reason),
    evaluate: evaluation.evaluate,
    evaluateAll: evaluation.evaluateAll,
    promote: evaluation.promoteNow,
    rollback: guard.rollback,
    checkHealth: guard.checkHealth,
    resumeDecisions,
    view: views.view,
    list: async (filter: Parameters<PgExperimentStore['list']>[0]) => Promise.all((await store.list(filter)).map(views.view)),
    reconcileChallengers,
    /**
     * The scheduled work (svc.every, EVAL_INTERVAL_MS), leader only: evaluate, finish interrupted
     * decisions, start experiments of challengers that have none, guard champions.
     */
    tick: async (): Promise<void> => {
      await evaluation.evaluateAll();
      await resumeDecisions();
      await reconcileChallengers();
      await guard.checkHealth();
    },
  };
};

/** The ab-router's core. */
export type AbRouter = ReturnType<typeof createAbRouter>;
