import type { ModelSource } from './ports.js';

/**
 * The models a replica loads at start: the configured ones and, for a follow-all replica, every
 * model that has a champion (a restarted follow-all replica would otherwise serve nothing until
 * the next model update).
 */
export const modelsAtStart = async (source: Pick<ModelSource, 'modelsWithChampion'>, o: { models: readonly string[]; followAll: boolean }): Promise<string[]> => {
  const known = o.followAll && source.modelsWithChampion ? await source.modelsWithChampion() : [];
  return [...new Set([...o.models, ...known])];
};
