import { checkSampleRatio, decideExperiment, decidePairedExperiment, type ExperimentDecision, type PairedDecision, type SampleRatioCheck } from '@flywheel/stats';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import type { ExperimentSettings } from './experimentSettings.js';
import type { ArmTotals, Experiment, PgExperimentStore, ShadowTotals } from './PgExperimentStore.js';

/** An experiment with its live statistics (what the admin API lists). */
export interface ExperimentView extends Experiment {
  totals: ArmTotals;
  srm: SampleRatioCheck;
  preview: ExperimentDecision;
  /** The shadow test, for experiments whose policy starts in shadow; null otherwise. */
  shadow: ShadowView | null;
}

/** A shadow test's live statistics: agreement at once, the paired decision as outcomes arrive. */
export interface ShadowView {
  totals: ShadowTotals;
  /** Share of scored requests where both gave the same label; null before any was scored. */
  agreementRate: number | null;
  /** What the paired test (sequential McNemar) would decide now. */
  preview: PairedDecision;
}

const statsConfig = (s: ExperimentSettings) => ({
  method: s.method, alpha: s.alpha, minSamplePerArm: s.minSamplePerArm, minImprovement: s.minImprovement,
  maxDegradation: s.maxDegradation, tau: s.tau, srmThreshold: s.srmThreshold,
});

/** Live statistics of experiments, and the gauges that show them. */
export const createExperimentViews = (deps: { store: PgExperimentStore; metrics: AbRouterMetrics }) => {
  const { store, metrics: m } = deps;
  const shadowView = async (e: Experiment): Promise<ShadowView> => {
    const totals = await store.shadowTotals(e.id);
    const preview = decidePairedExperiment(totals, {
      alpha: e.settings.alpha, minPairs: e.settings.shadowMinPairs, minImprovement: e.settings.minImprovement, maxDegradation: e.settings.maxDegradation,
    });
    const agreementRate = totals.scored > 0 ? totals.agreed / totals.scored : null;
    if (e.state === 'running' && e.phase === 'shadow') {
      if (agreementRate !== null) m.shadowAgreement.set({ model: e.model }, agreementRate);
      for (const kind of ['scored', 'bothRight', 'championOnly', 'challengerOnly', 'bothWrong', 'undecidable'] as const) m.shadowPairs.set({ model: e.model, kind }, totals[kind]);
    }
    return { totals, agreementRate, preview };
  };
  return {
    /** Arm totals, the SRM check and what the test would decide now; updates the arm gauges of a running experiment. */
    view: async (e: Experiment): Promise<ExperimentView> => {
      const totals = await store.armTotals(e.id);
      const srm = checkSampleRatio(totals.assigned.champion, totals.assigned.challenger, { challengerBp: e.splitBps }, e.settings.srmThreshold);
      const preview = decideExperiment({ champion: totals.champion, challenger: totals.challenger }, statsConfig(e.settings));
      const shadow = e.settings.policy === 'ab' ? null : await shadowView(e);
      if (e.state === 'running') {
        for (const v of ['champion', 'challenger'] as const) {
          m.armSamples.set({ model: e.model, variant: v }, totals[v].n);
          m.armAccuracy.set({ model: e.model, variant: v }, totals[v].n > 0 ? totals[v].successes / totals[v].n : 0);
        }
      }
      return { ...e, totals, srm, preview, shadow };
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
