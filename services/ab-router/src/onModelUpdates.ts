import type { EventOf } from '@flywheel/contracts';
import type { Experiments, GuardedChampions } from './ports.js';

/**
 * A registered challenger starts an experiment; a promotion or rollback (ours or an operator's
 * through the registry) names the champion to guard; a rejection elsewhere ends its experiment.
 *
 * Starting an experiment is a decision (it may supersede the running one), taken only by the
 * leader (`isLeader`): a follower that receives challenger_registered leaves it, and the leader's
 * reconcile (reconcileChallengers, every tick) starts each registered challenger that never had an
 * experiment, so nothing is lost when the partition is not the leader's. Stopping on a rejection
 * is one compare-and-set on the running row (a no-op if the leader decided first) and adopting the
 * announced champion converges, so any instance does those.
 */
export const onModelUpdates = (deps: { experiments: Experiments; champions: GuardedChampions; isLeader?: () => boolean }) =>
  async (event: EventOf<'modelUpdates'>): Promise<void> => {
    const u = event.data;
    const model = event.subject;
    const leader = deps.isLeader?.() ?? true;
    switch (u.action) {
      case 'challenger_registered':
        if (leader) await deps.experiments.start(model, u.version);
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
