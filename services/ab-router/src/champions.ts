import type { PgExperimentStore } from './PgExperimentStore.js';

/**
 * The champion the health watch guards, per model (`ab_champions`), and which models had no
 * rollback target, so the health check does not retry a failed rollback every tick.
 */
export const createChampions = (health: { windowSize: number; minSamples: number }) => {
  const rollbackUnavailable = new Set<string>();
  return {
    /**
     * Switches the guarded champion on `store` (usually a decision's transaction). Without an
     * experiment's evidence (`baseline`) the outgoing champion's recent accuracy is the bar, and the
     * new one is on probation until its first full window has been judged against that bar.
     */
    adopt: async (store: PgExperimentStore, model: string, version: string, baseline?: { accuracy: number; n: number }): Promise<void> => {
      let bar = baseline;
      let inherited = false;
      const current = await store.champion(model);
      if (!bar && current && current.version !== version) {
        const w = await store.recentAccuracy(model, current.version, current.since, health.windowSize);
        if (w.n >= health.minSamples) {
          bar = { accuracy: w.successes / w.n, n: w.n };
          inherited = true;
        }
      }
      await store.setChampion(model, version, bar, inherited);
      // Only a new champion may have something to roll back to; the same one re-adopted (every
      // experiment start does) has not, and clearing the flag made the guard fail again each time.
      if (current?.version !== version) rollbackUnavailable.delete(model);
    },
    /** An automatic rollback failed: leave the model to an operator until its champion changes. */
    rollbackFailed: (model: string): void => {
      rollbackUnavailable.add(model);
    },
    canRollback: (model: string): boolean => !rollbackUnavailable.has(model),
  };
};

export type Champions = ReturnType<typeof createChampions>;
