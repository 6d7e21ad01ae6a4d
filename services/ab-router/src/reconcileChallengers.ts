import { ModelName } from '@flywheel/contracts';
import type { Logger } from '@flywheel/runtime';
import type { PgExperimentStore } from './PgExperimentStore.js';
import type { Experiments, Registry } from './ports.js';

/**
 * The leader's reconcile of experiments with the registry: a registered challenger that never had
 * an experiment gets one (its challenger_registered event went to a follower, or came while no
 * ab-router led). Returns how many it started.
 */
export const createChallengerReconciler = (deps: { store: Pick<PgExperimentStore, 'list'>; registry: Pick<Registry, 'challengers'>; experiments: Pick<Experiments, 'start'>; log: Logger }) =>
  async (): Promise<number> => {
    const challengers = new Map((await deps.registry.challengers()).map((c) => [c.model as string, c.version as string]));
    let changed = 0;
    const attempt = async (what: string, ctx: object, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
        changed += 1;
        deps.log.warn(ctx, what);
      } catch (err) {
        deps.log.error({ err, ...ctx }, `could not reconcile (${what}); retried at the next tick`);
      }
    };
    for (const [model, version] of challengers) {
      const tried = (await deps.store.list({ model, limit: 1000 })).some((e) => e.challengerVersion === version);
      if (tried) continue;
      await attempt('started the experiment of a registered challenger that had none', { model, version }, () => deps.experiments.start(ModelName.parse(model), version));
    }
    return changed;
  };
