import { checkSampleRatio, decideExperiment, type ExperimentDecision, type SampleRatioCheck } from '@flywheel/stats';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import type { ExperimentSettings } from './experimentSettings.js';
import type { ArmTotals, Experiment, PgExperimentStore } from './PgExperimentStore.js';

/** An experiment with its live statistics (what the admin API lists). */
export interface ExperimentView extends Experiment {
  totals: ArmTotals;
  srm: SampleRatioCheck;
  preview: ExperimentDecision;
}

const statsConfig = (s: ExperimentSettings) => ({
  method: s.method, alpha: s.alpha, minSamplePerArm: s.minSamplePerArm, minImprovement: s.minImprovement,
  maxDegradation: s.maxDegradation, tau: s.tau, srmThreshold: s.srmThreshold,
});

/** Live statistics of experiments, and the gauges that show them. */
export const createExperimentViews = (deps: { store: PgExperimentStore; metrics: AbRouterMetrics }) => {
  const { store, metrics: m } = deps;
  return {
    /** Arm totals, the SRM check and what the test would decide now; updates the arm gauges of a running experiment. */
    view: async (e: Experiment): Promise<ExperimentView> => {
      const totals = await store.armTotals(e.id);
      const srm = checkSampleRatio(totals.assigned.champion, totals.assigned.challenger, { challengerBp: e.splitBps }, e.settings.srmThreshold);
      const preview = decideExperiment({ champion: totals.champion, challenger: totals.challenger }, statsConfig(e.settings));
      if (e.state === 'running') {
        for (const v of ['champion', 'challenger'] as const) {
          m.armSamples.set({ model: e.model, variant: v }, totals[v].n);
          m.armAccuracy.set({ model: e.model, variant: v }, totals[v].n > 0 ? totals[v].successes / totals[v].n : 0);
        }
      }
      return { ...e, totals, srm, preview };
    },
    /** Recounts a model's experiments by state. */
    refreshGauge: async (model: string): Promise<void> => {
      const all = await store.list({ model, limit: 1000 });
      for (const state of ['running', 'promoted', 'rejected', 'halted', 'stopped'] as const) {
        m.experiments.set({ model, state }, all.filter((e) => e.state === state).length);
      }
    },
  };
};

export type ExperimentViews = ReturnType<typeof createExperimentViews>;
