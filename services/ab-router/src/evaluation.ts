import { Conflict, NotFound, type Logger } from '@flywheel/runtime';
import type { ExperimentLifecycle } from './experimentLifecycle.js';
import type { ExperimentView, ExperimentViews, ShadowView } from './experimentView.js';
import type { Experiment, PgExperimentStore } from './PgExperimentStore.js';

/** What one evaluation did. */
export type EvaluationOutcome = { experiment: ExperimentView; action: 'continue' | 'promoted' | 'rejected' | 'halted' | 'skipped' };

const notFound = (id: string): NotFound => new NotFound(`no experiment ${id}; list them with GET /admin/experiments`);

/**
 * Judges running experiments with `@flywheel/stats`: a sample-ratio mismatch halts the test,
 * otherwise the decision rule promotes, rejects or lets it continue. Runs on schedule for every
 * running experiment and on demand (admin API) for one.
 */
export const createEvaluation = (deps: { store: PgExperimentStore; views: ExperimentViews; lifecycle: ExperimentLifecycle; log: Logger }) => {
  const { store, views, lifecycle, log } = deps;

  /**
   * The shadow phase, judged by the paired test: a win starts the A/B phase (shadow-then-ab) or
   * promotes behind the forgetting gate (shadow-then-promote); a loss or futility rejects.
   * No SRM check: nobody was split, both models saw every request.
   */
  const evaluateShadow = async (e: Experiment, v: ExperimentView, shadow: ShadowView): Promise<EvaluationOutcome> => {
    const d = shadow.preview;
    const agreement = shadow.agreementRate === null ? 'n/a' : `${(shadow.agreementRate * 100).toFixed(1)} %`;
    const why = `shadow test (paired, agreement ${agreement} over ${shadow.totals.scored} requests): ${d.reasons.map((r) => r.message).join('; ')}`;
    const record = { phase: 'shadow', ...d, agreementRate: shadow.agreementRate, totals: shadow.totals };
    if (d.decision === 'promote' && e.settings.policy === 'shadow-then-ab') {
      await lifecycle.enterAbPhase(e, record, why);
      return { experiment: { ...v, phase: 'ab' }, action: 'continue' };
    }
    if (d.decision === 'promote') {
      const done = await lifecycle.promoteUnlessForgetting(e, record, why, { accuracy: d.challengerRate, n: d.test.pairs });
      return done === 'promoted' ? { experiment: { ...v, state: 'promoted' }, action: 'promoted' } : { experiment: { ...v, state: 'rejected' }, action: 'rejected' };
    }
    if (d.decision === 'reject') {
      await lifecycle.reject(e, record, why);
      return { experiment: { ...v, state: 'rejected' }, action: 'rejected' };
    }
    return { experiment: v, action: 'continue' };
  };

  const evaluateExperiment = async (e: Experiment): Promise<EvaluationOutcome> => {
    const v = await views.view(e);
    if (e.state !== 'running') return { experiment: v, action: 'skipped' };
    if (e.phase === 'shadow' && v.shadow) return evaluateShadow(e, v, v.shadow);
    if (v.srm.halt) {
      const observed = v.srm.observedShares.map((s) => `${(s * 100).toFixed(1)}%`).join('/');
      const reason = `sample ratio mismatch: observed champion/challenger ${observed} vs configured ${((10_000 - e.splitBps) / 100).toFixed(1)}%/${(e.splitBps / 100).toFixed(1)}% (p=${v.srm.pValue.toExponential(2)}); fix assignment and start a new experiment`;
      await lifecycle.stop(e.id, reason, 'halted', { reason, srm: v.srm, totals: v.totals });
      return { experiment: { ...v, state: 'halted' }, action: 'halted' };
    }
    const d = v.preview;
    const why = d.reasons.map((r) => r.message).join('; ');
    if (d.decision === 'promote') {
      const done = await lifecycle.promoteUnlessForgetting(e, d, why, { accuracy: d.challenger.rate, n: d.challenger.n });
      return done === 'promoted' ? { experiment: { ...v, state: 'promoted' }, action: 'promoted' } : { experiment: { ...v, state: 'rejected' }, action: 'rejected' };
    }
    if (d.decision === 'reject') {
      await lifecycle.reject(e, d, why);
      return { experiment: { ...v, state: 'rejected' }, action: 'rejected' };
    }
    return { experiment: v, action: 'continue' };
  };

  return {
    /** Evaluates every running experiment; one that fails is logged and tried again at the next tick. */
    evaluateAll: async (): Promise<EvaluationOutcome[]> => {
      const out: EvaluationOutcome[] = [];
      for (const e of await store.list({ state: 'running', limit: 1000 })) {
        try {
          out.push(await evaluateExperiment(e));
        } catch (err) {
          log.error({ err, experiment: e.id, model: e.model }, 'evaluation failed; will retry at the next tick');
        }
      }
      return out;
    },
    /** Evaluates one experiment now (on demand). */
    evaluate: async (id: string): Promise<EvaluationOutcome> => {
      const e = await store.byId(id);
      if (!e) throw notFound(id);
      return evaluateExperiment(e);
    },
    /** Promotes a running experiment's challenger now, without waiting for the test (operator's call). */
    promoteNow: async (id: string, reason: string): Promise<Experiment> => {
      const e = await store.byId(id);
      if (!e) throw notFound(id);
      if (e.state !== 'running') throw new Conflict(`experiment ${id} is ${e.state}, not running`);
      const v = await views.view(e);
      await lifecycle.promote(e, { forced: true, reason, preview: v.preview }, `manual promotion: ${reason}`);
      return (await store.byId(id)) ?? e;
    },
  };
};
