import type { EventOf } from '@flywheel/contracts';
import type { Experiments, GuardedChampions } from './ports.js';

/**
 * A registered challenger starts an experiment; a promotion or rollback (ours or an operator's
 * through the registry) names the champion to guard; a rejection elsewhere ends its experiment.
 */
export const onModelUpdates = (deps: { experiments: Experiments; champions: GuardedChampions }) =>
  async (event: EventOf<'modelUpdates'>): Promise<void> => {
    const u = event.data;
    const model = event.subject;
    switch (u.action) {
      case 'challenger_registered':
        await deps.experiments.start(model, u.version);
        return;
      case 'promoted':
      case 'rolled_back':
        if ((await deps.champions.current(model)) !== u.version) await deps.champions.adopt(model, u.version);
        return;
      case 'rejected': {
        const running = await deps.experiments.running(model);
        if (running?.challengerVersion === u.version) await deps.experiments.stop(running.id, `challenger rejected elsewhere: ${u.reason}`);
        return;
      }
      case 'routing_changed':
        return;
    }
  };
