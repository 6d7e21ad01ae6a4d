import { randomUUID } from 'node:crypto';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import { Conflict, failpoint, NotFound, type Logger } from '@flywheel/runtime';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import type { Champions } from './champions.js';
import { championOnly, type RunDecision } from './decisionTx.js';
import { settingsFor, type ExperimentSettingsInput } from './experimentSettings.js';
import type { ExperimentViews } from './experimentView.js';
import { forgettingVerdict } from './forgettingGate.js';
import type { Experiment, PgExperimentStore } from './PgExperimentStore.js';
import type { Registry } from './ports.js';

export interface LifecycleDeps {
  store: PgExperimentStore;
  registry: Registry;
  decide: RunDecision;
  champions: Champions;
  views: ExperimentViews;
  metrics: AbRouterMetrics;
  log: Logger;
  settings: { defaults: ExperimentSettingsInput; perModel: Readonly<Record<string, ExperimentSettingsInput>> };
}

const reasonText = (s: string): string => s.slice(0, 4000);
type Baseline = { accuracy: number; n: number };

/**
 * An experiment from start to decision. A decision that only touches the ab-router's own tables
 * (start, stop, halt) is one transaction with its events. A promotion or rejection also changes
 * the registry, whose own transaction cannot include ours, so it goes: decision row (state) →
 * registry (idempotent) → one transaction of guard, events, routing and `applied_at`.
 * resumeDecisions finishes a decision a crash left between those steps.
 */
export const createExperimentLifecycle = (deps: LifecycleDeps) => {
  const { store, registry, decide, champions, views, metrics: m, log } = deps;

  const stop = async (id: string, reason: string, state: 'stopped' | 'halted' = 'stopped', decision?: unknown): Promise<Experiment> => {
    const e = await store.byId(id);
    if (!e) throw new NotFound(`no experiment ${id}; list them with GET /admin/experiments`);
    const ended = await decide(async (tx) => {
      if (!(await tx.store.finish(id, state, decision ?? { reason }))) return false;
      await championOnly(tx, e.model, e.championVersion);
      await tx.store.markApplied(id);
      return true;
    });
    if (!ended) throw new Conflict(`experiment ${id} is ${e.state}, not running`);
    m.decisions.inc({ model: e.model, decision: state === 'halted' ? 'halt' : 'stop' });
    await views.refreshGauge(e.model);
    log.info({ experiment: id, model: e.model, reason, state }, 'experiment ended without a decision');
    return (await store.byId(id)) ?? e;
  };

  /**
   * Why a challenger is not worth live traffic because of what it was trained from: a parent that
   * was rolled back meanwhile (a retraining of a bad push that finished after the rollback).
   */
  const rolledBackParent = async (model: ModelName, challenger: ModelVersion): Promise<string | undefined> => {
    const parent = (await registry.versionFacts(model, challenger))?.parentVersion;
    if (parent === undefined) return undefined;
    const facts = await registry.versionFacts(model, ModelVersion.parse(parent));
    return facts?.status === 'rolled_back'
      ? `trained from ${parent}, which was rolled back: not tested; the next retraining starts from the current champion`
      : undefined;
  };

  /** Rejects a registered challenger without an experiment: registry first, then the announcement. */
  const rejectUntested = async (model: string, challenger: ModelVersion, reason: string): Promise<void> => {
    await registry.reject(ModelName.parse(model), challenger, reason);
    await decide(async (tx) => {
      await tx.announce(model, { action: 'rejected', version: challenger, reason: reasonText(reason) });
    });
    m.decisions.inc({ model, decision: 'reject' });
    log.warn({ model, version: challenger, reason }, 'challenger rejected without a test');
  };

  // Starts of one model run one after another: the registration event and the reconciler can ask
  // for the same challenger within milliseconds, and both would otherwise find no experiment, create
  // one each, and the second would supersede the first (seen in test/e2e ownEncoder).
  const starting = new Map<string, Promise<unknown>>();
  const start = (model: string, challengerVersion: string, input: ExperimentSettingsInput = {}): Promise<Experiment | undefined> => {
    const previous = starting.get(model) ?? Promise.resolve();
    const run = previous.then(() => startNow(model, challengerVersion, input), () => startNow(model, challengerVersion, input));
    const settled = run.then(() => undefined, () => undefined);
    starting.set(model, settled);
    void settled.then(() => {
      if (starting.get(model) === settled) starting.delete(model);
    });
    return run;
  };

  const startNow = async (model: string, challengerVersion: string, input: ExperimentSettingsInput): Promise<Experiment | undefined> => {
    const name = ModelName.parse(model);
    const challenger = ModelVersion.parse(challengerVersion);
    const earlier = (await store.list({ model, limit: 1000 })).find((e) => e.challengerVersion === challenger);
    if (earlier) return earlier; // a redelivered registration, or one already decided
    const champion = await registry.champion(name);
    const firstVersion = 'first version of the model: no champion to test against';
    const announceFirst = () => decide(async (tx) => {
      await champions.adopt(tx.store, model, challenger);
      await tx.announce(model, { action: 'promoted', version: challenger, reason: firstVersion });
      await championOnly(tx, model, challenger);
    });
    if (champion === challenger) {
      // A redelivered registration of a first version whose promotion was not announced (a crash
      // between the registry and our transaction): finish it. Otherwise there is nothing to do.
      if ((await store.champion(model)) === undefined) await announceFirst();
      return undefined;
    }
    if (champion === undefined) {
      // Nothing to test against: the first version of a model serves directly.
      await registry.promote(name, challenger, firstVersion);
      failpoint('ab-router.after-first-promotion'); // the registry promoted; guard, event and routing not yet
      await announceFirst();
      m.decisions.inc({ model, decision: 'promote' });
      return undefined;
    }
    const tainted = await rolledBackParent(name, challenger);
    if (tainted) {
      await rejectUntested(model, challenger, tainted);
      return undefined;
    }
    // One experiment per model: a newer challenger replaces the running one (the older is stale by construction).
    const running = await store.running(model);
    if (running) await stop(running.id, `superseded by challenger ${challenger}`);
    const settings = settingsFor(model, deps.settings.defaults, deps.settings.perModel, input);
    const id = randomUUID();
    const e = await decide(async (tx) => {
      const phase = settings.policy === 'ab' ? 'ab' : 'shadow';
      const created = await tx.store.create({ id, model, championVersion: champion, challengerVersion: challenger, salt: id, settings, phase });
      await champions.adopt(tx.store, model, champion);
      // A shadow test: everyone gets the champion; serving also scores each request with the challenger, off the request path.
      await tx.route(model, phase === 'shadow'
        ? { champion, challengerShareBps: 0, salt: created.salt, shadow: { version: challenger, experimentId: created.id } }
        : { champion, challenger, challengerShareBps: settings.splitBps, salt: created.salt, experimentId: created.id });
      return created;
    });
    await views.refreshGauge(model);
    log.info({ experiment: id, model, champion, challenger, splitBps: settings.splitBps, method: settings.method, policy: settings.policy }, 'experiment started');
    return e;
  };

  /** Everything a promotion does once the experiment row says `promoted`; also what resumeDecisions re-runs. */
  const applyPromotion = async (e: Experiment, reason: string, baseline?: Baseline): Promise<void> => {
    const challenger = ModelVersion.parse(e.challengerVersion);
    // Compare-and-set: an operator who changed the champion during the test wins (Conflict; the decision is moot).
    const { previous } = await registry.promote(ModelName.parse(e.model), challenger, reason, ModelVersion.parse(e.championVersion));
    await decide(async (tx) => {
      await champions.adopt(tx.store, e.model, challenger, baseline);
      await tx.announce(e.model, { action: 'promoted', version: challenger, ...(previous ? { previous } : {}), reason: reasonText(reason) });
      await championOnly(tx, e.model, challenger);
      await tx.store.markApplied(e.id);
    });
    m.decisions.inc({ model: e.model, decision: 'promote' });
    await views.refreshGauge(e.model);
    log.info({ experiment: e.id, model: e.model, version: challenger, reason }, 'challenger promoted');
  };

  const promote = async (e: Experiment, decision: unknown, reason: string, baseline?: Baseline): Promise<void> => {
    if (!(await store.finish(e.id, 'promoted', decision))) return;
    failpoint('ab-router.after-decision'); // decided, nothing applied yet: resumeDecisions finishes it after a restart
    await applyPromotion(e, reason, baseline);
  };

  const reject = async (e: Experiment, decision: unknown, reason: string): Promise<void> => {
    if (!(await store.finish(e.id, 'rejected', decision))) return;
    const challenger = ModelVersion.parse(e.challengerVersion);
    await registry.reject(ModelName.parse(e.model), challenger, reason);
    await decide(async (tx) => {
      await tx.announce(e.model, { action: 'rejected', version: challenger, reason: reasonText(reason) });
      await championOnly(tx, e.model, e.championVersion);
      await tx.store.markApplied(e.id);
    });
    m.decisions.inc({ model: e.model, decision: 'reject' });
    await views.refreshGauge(e.model);
    log.info({ experiment: e.id, model: e.model, version: challenger, reason }, 'challenger rejected');
  };

  /** A won shadow test hands over to its A/B phase (policy shadow-then-ab): one transaction of phase, decision and routing. */
  const enterAbPhase = async (e: Experiment, shadowDecision: unknown, reason: string): Promise<boolean> => {
    const entered = await decide(async (tx) => {
      if (!(await tx.store.enterAbPhase(e.id, shadowDecision))) return false;
      await tx.route(e.model, { champion: e.championVersion, challenger: e.challengerVersion, challengerShareBps: e.splitBps, salt: e.salt, experimentId: e.id });
      return true;
    });
    if (!entered) return false;
    m.decisions.inc({ model: e.model, decision: 'shadow_passed' });
    log.info({ experiment: e.id, model: e.model, version: e.challengerVersion, reason }, 'shadow test passed; A/B phase started');
    return true;
  };

  /**
   * An automatic promotion, behind the forgetting gate: the challenger is promoted only if its
   * old-class holdout accuracy is not worse than the champion's beyond the margin. A refusal ends
   * the experiment as rejected with the gate's reason in the decision record; either way the
   * decision record carries the gate's finding (`forgetting`).
   */
  const promoteUnlessForgetting = async (e: Experiment, decision: object, reason: string, baseline?: Baseline): Promise<'promoted' | 'refused'> => {
    const [challengerFacts, championFacts] = await Promise.all([
      registry.versionFacts(ModelName.parse(e.model), ModelVersion.parse(e.challengerVersion)),
      registry.versionFacts(ModelName.parse(e.model), ModelVersion.parse(e.championVersion)),
    ]);
    const forgetting = forgettingVerdict(challengerFacts, championFacts, { maxForgetting: e.settings.maxForgetting, whenMissing: e.settings.forgettingWhenMissing });
    if (!forgetting.pass) {
      await reject(e, { ...decision, forgetting }, `${forgetting.reason}; the test itself said: ${reason}`);
      return 'refused';
    }
    await promote(e, { ...decision, forgetting }, `${reason}; ${forgetting.reason}`, baseline);
    return 'promoted';
  };

  return { start, stop, promote, applyPromotion, reject, enterAbPhase, promoteUnlessForgetting };
};

export type ExperimentLifecycle = ReturnType<typeof createExperimentLifecycle>;
