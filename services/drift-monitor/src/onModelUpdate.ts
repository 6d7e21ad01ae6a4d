import type { EventOf } from '@flywheel/contracts';
import type { ChampionWatch } from './ChampionWatch.js';

/** Handles `model-updates`: a promotion or a rollback changes the watched version (fresh reference and window). */
export const onModelUpdate = (deps: { watch: Pick<ChampionWatch, 'watch'> }) =>
  async (event: EventOf<'modelUpdates'>): Promise<void> => {
    const u = event.data;
    if (u.action === 'promoted') deps.watch.watch(event.subject, u.version, `promoted${u.previous ? ` over ${u.previous}` : ''}`);
    else if (u.action === 'rolled_back') deps.watch.watch(event.subject, u.version, `rolled back from ${u.from}`);
  };
