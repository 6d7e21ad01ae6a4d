import { describe, expect, it } from 'vitest';
import { createChampions } from './champions.js';
import type { PgExperimentStore } from './PgExperimentStore.js';

// Only what adopt() reads and writes: the guarded champion per model.
const storeOf = (): PgExperimentStore => {
  const champs = new Map<string, string>();
  return {
    champion: async (model: string) => (champs.has(model) ? { version: champs.get(model) } : undefined),
    recentAccuracy: async () => ({ n: 0, successes: 0 }),
    setChampion: async (model: string, version: string) => { champs.set(model, version); },
  } as unknown as PgExperimentStore;
};

describe('champions: when the health check may try an automatic rollback again', () => {
  it('not after the same champion is adopted again (an experiment start), only after a new one', async () => {
    const store = storeOf();
    const c = createChampions({ windowSize: 100, minSamples: 40 });
    await c.adopt(store, 'm', '1.0.0');
    c.rollbackFailed('m'); // 1.0.0 has no previous version
    await c.adopt(store, 'm', '1.0.0');
    expect(c.canRollback('m')).toBe(false);
    await c.adopt(store, 'm', '1.1.0');
    expect(c.canRollback('m')).toBe(true);
  });
});
