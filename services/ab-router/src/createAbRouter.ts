import { randomUUID } from 'node:crypto';
import type { Handlers, Publisher } from '@flywheel/bus';
import { makeEvent, outcomeOf, ModelName, ModelVersion, type DataOf, type EventOf } from '@flywheel/contracts';
import { Conflict, failpoint, NotFound, type Logger } from '@flywheel/runtime';
import { checkSampleRatio, decideExperiment, type ExperimentDecision, type SampleRatioCheck } from '@flywheel/stats';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import { settingsFor, type ExperimentSettings, type ExperimentSettingsInput } from './experimentSettings.js';
import type { ArmTotals, Experiment, PgExperimentStore } from './PgExperimentStore.js';
import type { Registry } from './ports.js';
import { createDecisionResumer } from './resumeDecisions.js';
import type { RoutingPublisher } from './RoutingPublisher.js';
import { servingVerdict, type ServingHealthLimits } from './servingHealth.js';
import type { ServingHealthSource } from './ServingHealthProbe.js';

/** Automatic rollback on the champion's health. */
export interface HealthSettings {
  /** Labelled predictions in the sliding window (the most recent ones of the champion). */
  windowSize: number;
  /** No verdict on fewer labelled predictions than this. */
  minSamples: number;
  /** Roll back when accuracy falls more than this below the baseline (absolute: 0.1 = 10 points). */
  maxAccuracyDrop: number;
  /** Also roll back on serving's error rate or p99 latency, read from its /metrics (optional). */
  serving?: { source: ServingHealthSource; limits: ServingHealthLimits };
}

export interface AbRouterDeps {
  store: PgExperimentStore;
  routing: RoutingPublisher;
  registry: Registry;
  publisher: Publisher;
  logger: Logger;
  metrics: AbRouterMetrics;
  /** CloudEvents source of what this process publishes. */
  source: string;
  settings: { defaults: ExperimentSettingsInput; perModel: Readonly<Record<string, ExperimentSettingsInput>> };
  health: HealthSettings;
  /** Evaluation and health-check period; 0 disables the timer (evaluate on demand only). */
  evalIntervalMs: number;
}

/** An experiment with its live statistics (what the admin API lists). */
export interface ExperimentView extends Experiment {
  totals: ArmTotals;
  srm: SampleRatioCheck;
  preview: ExperimentDecision;
}

/** What one evaluation did. */
export type EvaluationOutcome = { experiment: ExperimentView; action: 'continue' | 'promoted' | 'rejected' | 'halted' | 'skipped' };

const reasonText = (s: string): string => s.slice(0, 4000);
const statsConfig = (s: ExperimentSettings) => ({
  method: s.method, alpha: s.alpha, minSamplePerArm: s.minSamplePerArm, minImprovement: s.minImprovement,
  maxDegradation: s.maxDegradation, tau: s.tau, srmThreshold: s.srmThreshold,
});

/**
 * The ab-router: starts an experiment per registered challenger, joins predictions with feedback
 * per arm, decides on schedule and on demand (SRM halt, promote, reject, continue), and rolls the
 * champion back when its accuracy falls below its baseline. Every decision updates the registry,
 * publishes the matching `model-updates` event and then the new routing table.
 */
export const createAbRouter = (deps: AbRouterDeps) => {
  const { store, routing, registry, logger: log, metrics: m } = deps;
  const publish = (model: string, data: DataOf<'modelUpdates'>): Promise<void> =>
    deps.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: deps.source, subject: model, data }));
  const championOnly = (model: string, champion: string) =>
    routing.publish(ModelName.parse(model), { champion, challengerShareBps: 0, salt: model });
  /** Which models had no rollback target, so the health check does not retry every tick. */
  const rollbackUnavailable = new Set<string>();

  /** Switches the guarded champion; without an experiment's evidence the outgoing champion's recent accuracy is the bar. */
  const adoptChampion = async (model: string, version: string, baseline?: { accuracy: number; n: number }): Promise<void> => {
    let bar = baseline;
    const current = await store.champion(model);
    if (!bar && current && current.version !== version) {
      const w = await store.recentAccuracy(model, current.version, current.since, deps.health.windowSize);
      if (w.n >= deps.health.minSamples) bar = { accuracy: w.successes / w.n, n: w.n };
    }
    await store.setChampion(model, version, bar);
    rollbackUnavailable.delete(model);
  };

  const view = async (e: Experiment): Promise<ExperimentView> => {
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
  };

  const refreshExperimentGauge = async (model: string): Promise<void> => {
    const all = await store.list({ model, limit: 1000 });
    for (const state of ['running', 'promoted', 'rejected', 'halted', 'stopped'] as const) {
      m.experiments.set({ model, state }, all.filter((e) => e.state === state).length);
    }
  };

  const stopExperiment = async (id: string, reason: string, state: 'stopped' | 'halted' = 'stopped', decision?: unknown): Promise<Experiment> => {
    const e = await store.byId(id);
    if (!e) throw new NotFound(`no experiment ${id}; list them with GET /admin/experiments`);
    if (!(await store.finish(id, state, decision ?? { reason }))) throw new Conflict(`experiment ${id} is ${e.state}, not running`);
    m.decisions.inc({ model: e.model, decision: state === 'halted' ? 'halt' : 'stop' });
    await championOnly(e.model, e.championVersion);
    await store.markApplied(id);
    await refreshExperimentGauge(e.model);
    log.info({ experiment: id, model: e.model, reason, state }, 'experiment ended without a decision');
    return (await store.byId(id)) ?? e;
  };

  const startExperiment = async (model: string, challengerVersion: string, input: ExperimentSettingsInput = {}): Promise<Experiment | undefined> => {
    const name = ModelName.parse(model);
    const challenger = ModelVersion.parse(challengerVersion);
    const earlier = (await store.list({ model, limit: 1000 })).find((e) => e.challengerVersion === challenger);
    if (earlier) return earlier; // a redelivered registration, or one already decided
    const champion = await registry.champion(name);
    if (champion === challenger) return undefined;
    if (champion === undefined) {
      // Nothing to test against: the first version of a model serves directly.
      await registry.promote(name, challenger, 'first version of the model: no champion to test against');
      await adoptChampion(model, challenger);
      await publish(model, { action: 'promoted', version: challenger, reason: 'first version of the model: no champion to test against' });
      m.decisions.inc({ model, decision: 'promote' });
      await championOnly(model, challenger);
      return undefined;
    }
    // One experiment per model: a newer challenger replaces the running one (the older is stale by construction).
    const running = await store.running(model);
    if (running) await stopExperiment(running.id, `superseded by challenger ${challenger}`);
    const settings = settingsFor(model, deps.settings.defaults, deps.settings.perModel, input);
    const id = randomUUID();
    const e = await store.create({ id, model, championVersion: champion, challengerVersion: challenger, salt: id, settings });
    await adoptChampion(model, champion);
    await routing.publish(name, { champion, challenger, challengerShareBps: settings.splitBps, salt: e.salt, experimentId: e.id });
    await refreshExperimentGauge(model);
    log.info({ experiment: id, model, champion, challenger, splitBps: settings.splitBps, method: settings.method }, 'experiment started');
    return e;
  };

  const promoteExperiment = async (e: Experiment, decision: unknown, reason: string, baseline?: { accuracy: number; n: number }): Promise<void> => {
    if (!(await store.finish(e.id, 'promoted', decision))) return;
    failpoint('ab-router.after-decision'); // decided, nothing applied yet: resumeDecisions finishes it after a restart
    await applyPromotion(e, reason, baseline);
  };

  /** Everything a promotion does once the experiment row says `promoted`; also what resumeDecisions re-runs. */
  const applyPromotion = async (e: Experiment, reason: string, baseline?: { accuracy: number; n: number }): Promise<void> => {
    const name = ModelName.parse(e.model);
    const challenger = ModelVersion.parse(e.challengerVersion);
    const { previous } = await registry.promote(name, challenger, reason);
    await adoptChampion(e.model, challenger, baseline);
    await publish(e.model, { action: 'promoted', version: challenger, ...(previous ? { previous } : {}), reason: reasonText(reason) });
    m.decisions.inc({ model: e.model, decision: 'promote' });
    await routing.publish(name, { champion: challenger, challengerShareBps: 0, salt: e.model });
    await store.markApplied(e.id);
    await refreshExperimentGauge(e.model);
    log.info({ experiment: e.id, model: e.model, version: challenger, reason }, 'challenger promoted');
  };

  const rejectExperiment = async (e: Experiment, decision: unknown, reason: string): Promise<void> => {
    if (!(await store.finish(e.id, 'rejected', decision))) return;
    const challenger = ModelVersion.parse(e.challengerVersion);
    await registry.reject(ModelName.parse(e.model), challenger, reason);
    await publish(e.model, { action: 'rejected', version: challenger, reason: reasonText(reason) });
    m.decisions.inc({ model: e.model, decision: 'reject' });
    await championOnly(e.model, e.championVersion);
    await store.markApplied(e.id);
    await refreshExperimentGauge(e.model);
    log.info({ experiment: e.id, model: e.model, version: challenger, reason }, 'challenger rejected');
  };

  const evaluateExperiment = async (e: Experiment): Promise<EvaluationOutcome> => {
    const v = await view(e);
    if (e.state !== 'running') return { experiment: v, action: 'skipped' };
    if (v.srm.halt) {
      const observed = v.srm.observedShares.map((s) => `${(s * 100).toFixed(1)}%`).join('/');
      const reason = `sample ratio mismatch: observed champion/challenger ${observed} vs configured ${((10_000 - e.splitBps) / 100).toFixed(1)}%/${(e.splitBps / 100).toFixed(1)}% (p=${v.srm.pValue.toExponential(2)}); fix assignment and start a new experiment`;
      await stopExperiment(e.id, reason, 'halted', { reason, srm: v.srm, totals: v.totals });
      return { experiment: { ...v, state: 'halted' }, action: 'halted' };
    }
    const d = v.preview;
    const why = d.reasons.map((r) => r.message).join('; ');
    if (d.decision === 'promote') {
      await promoteExperiment(e, d, why, { accuracy: d.challenger.rate, n: d.challenger.n });
      return { experiment: { ...v, state: 'promoted' }, action: 'promoted' };
    }
    if (d.decision === 'reject') {
      await rejectExperiment(e, d, why);
      return { experiment: { ...v, state: 'rejected' }, action: 'rejected' };
    }
    return { experiment: v, action: 'continue' };
  };

  const rollback = async (model: string, reason: string, automatic: boolean): Promise<{ version: string; from: string }> => {
    const name = ModelName.parse(model);
    const running = await store.running(model);
    if (running) await stopExperiment(running.id, `champion rolled back: ${reason}`);
    const { version, from } = await registry.rollback(name, reason, automatic);
    await store.setChampion(model, version); // baseline: the restored version's first window
    await publish(model, { action: 'rolled_back', version, from, reason: reasonText(reason), automatic });
    m.rollbacks.inc({ model, automatic: String(automatic) });
    await championOnly(model, version);
    log.warn({ model, version, from, reason, automatic }, 'champion rolled back');
    return { version, from };
  };

  const checkHealth = async (): Promise<void> => {
    // One scrape per tick for every model; a serving replica that does not answer skips only this check.
    const serving = deps.health.serving
      ? await deps.health.serving.source.sample().catch((err: unknown) => {
          log.warn({ err }, 'could not read serving metrics; judging health on accuracy alone this time');
          return undefined;
        })
      : undefined;
    for (const model of await store.watchedModels()) {
      const champ = await store.champion(model);
      if (!champ) continue;
      // A running experiment is already testing the remedy (typically a challenger trained on the very
      // drift that lowers the champion's accuracy); rolling back now would only end it without evidence.
      if (await store.running(model)) continue;
      const servingHealth = serving?.get(model);
      const servingProblem = servingHealth && deps.health.serving ? servingVerdict(servingHealth, deps.health.serving.limits) : undefined;
      if (servingProblem && !rollbackUnavailable.has(model)) {
        try {
          await rollback(model, `champion ${champ.version}: ${servingProblem}`, true);
        } catch (err) {
          rollbackUnavailable.add(model);
          log.error({ err, model, reason: servingProblem }, 'automatic rollback failed; the champion stays until an operator acts');
        }
        continue;
      }
      const w = await store.recentAccuracy(model, champ.version, champ.since, deps.health.windowSize);
      if (w.n === 0) continue;
      const accuracy = w.successes / w.n;
      m.championAccuracy.set({ model }, accuracy);
      if (w.n < deps.health.minSamples) continue;
      if (champ.baselineAccuracy === null) {
        await store.setBaseline(model, champ.version, accuracy, w.n);
        continue;
      }
      const drop = champ.baselineAccuracy - accuracy;
      if (drop <= deps.health.maxAccuracyDrop || rollbackUnavailable.has(model)) continue;
      const reason = `champion ${champ.version} accuracy ${(accuracy * 100).toFixed(1)}% over its last ${w.n} labelled predictions is ${(drop * 100).toFixed(1)} points below its baseline ${(champ.baselineAccuracy * 100).toFixed(1)}% (limit ${(deps.health.maxAccuracyDrop * 100).toFixed(1)})`;
      try {
        await rollback(model, reason, true);
      } catch (err) {
        rollbackUnavailable.add(model);
        log.error({ err, model, reason }, 'automatic rollback failed; the champion stays until an operator acts');
      }
    }
  };

  const evaluateAll = async (): Promise<EvaluationOutcome[]> => {
    const out: EvaluationOutcome[] = [];
    for (const e of await store.list({ state: 'running', limit: 1000 })) {
      try {
        out.push(await evaluateExperiment(e));
      } catch (err) {
        log.error({ err, experiment: e.id, model: e.model }, 'evaluation failed; will retry at the next tick');
      }
    }
    return out;
  };

  const resumeDecisions = createDecisionResumer({
    store, registry, routing, log, applyPromotion, adoptChampion, championOnly,
    announce: (model, data) => publish(model, data),
  });

  const handlers: Handlers = {
    predictions: async (event: EventOf<'predictions'>) => {
      const p = event.data;
      const running = await store.running(event.subject);
      // Only predictions serving made under this experiment's routing table (it stamps experimentId):
      // champion-only answers from before serving applied the table would count as champion
      // assignments and halt the test on a false sample-ratio mismatch (seen in test/e2e faults).
      const inExperiment = running && p.experimentId === running.id
        && (p.modelVersion === (p.variant === 'champion' ? running.championVersion : running.challengerVersion));
      await store.recordPrediction({
        predictionId: p.predictionId, model: event.subject, modelVersion: p.modelVersion, variant: p.variant,
        subjectId: p.subjectId, experimentId: inExperiment ? running.id : undefined, predictedAt: new Date(event.time),
      });
      if (p.variant === 'champion' && !(await store.champion(event.subject))) await adoptChampion(event.subject, p.modelVersion);
    },
    feedback: async (event: EventOf<'feedback'>) => {
      const f = event.data;
      const correct = outcomeOf(f);
      if (f.predictionId === undefined || correct === undefined) return;
      await store.recordOutcome(f.predictionId, correct);
    },
    modelUpdates: async (event: EventOf<'modelUpdates'>) => {
      const u = event.data;
      const model = event.subject;
      switch (u.action) {
        case 'challenger_registered':
          await startExperiment(model, u.version);
          return;
        case 'promoted':
        case 'rolled_back':
          // Ours or an operator's through the registry: either way this is the champion to guard.
          if ((await store.champion(model))?.version !== u.version) await adoptChampion(model, u.version);
          return;
        case 'rejected': {
          const running = await store.running(model);
          if (running?.challengerVersion === u.version) await stopExperiment(running.id, `challenger rejected elsewhere: ${u.reason}`);
          return;
        }
        case 'routing_changed':
          return;
      }
    },
  };

  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  const tick = async (): Promise<void> => {
    try {
      await evaluateAll();
      await resumeDecisions();
      await checkHealth();
    } catch (err) {
      log.error({ err }, 'scheduled evaluation failed; will retry at the next tick');
    }
  };

  return {
    handlers,
    startExperiment,
    stopExperiment: (id: string, reason: string) => stopExperiment(id, reason),
    /** Evaluates one experiment now (on demand). */
    evaluate: async (id: string): Promise<EvaluationOutcome> => {
      const e = await store.byId(id);
      if (!e) throw new NotFound(`no experiment ${id}; list them with GET /admin/experiments`);
      return evaluateExperiment(e);
    },
    evaluateAll,
    /** Promotes a running experiment's challenger now, without waiting for the test (operator's call). */
    promote: async (id: string, reason: string): Promise<Experiment> => {
      const e = await store.byId(id);
      if (!e) throw new NotFound(`no experiment ${id}; list them with GET /admin/experiments`);
      if (e.state !== 'running') throw new Conflict(`experiment ${id} is ${e.state}, not running`);
      const v = await view(e);
      await promoteExperiment(e, { forced: true, reason, preview: v.preview }, `manual promotion: ${reason}`);
      return (await store.byId(id)) ?? e;
    },
    rollback,
    checkHealth,
    resumeDecisions,
    view,
    list: async (filter: Parameters<PgExperimentStore['list']>[0]) => Promise.all((await store.list(filter)).map(view)),
    /** Starts the evaluation schedule (EVAL_INTERVAL_MS); evaluations never overlap. */
    start: (): void => {
      if (deps.evalIntervalMs <= 0 || timer) return;
      timer = setInterval(() => {
        ticking ??= tick().finally(() => { ticking = undefined; });
      }, deps.evalIntervalMs);
      timer.unref();
    },
    stop: async (): Promise<void> => {
      if (timer) clearInterval(timer);
      timer = undefined;
      await ticking;
    },
  };
};

/** The running ab-router. */
export type AbRouter = ReturnType<typeof createAbRouter>;
