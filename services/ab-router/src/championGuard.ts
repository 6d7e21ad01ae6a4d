import { randomUUID } from 'node:crypto';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import { classifyError, Conflict, failpoint, FlywheelError, NotFound, type Logger } from '@flywheel/runtime';
import type { AbRouterMetrics } from './abRouterMetrics.js';
import type { Champions } from './champions.js';
import { championOnly, type RunDecision } from './decisionTx.js';
import type { ExperimentLifecycle } from './experimentLifecycle.js';
import type { GuardedChampion, PgExperimentStore, RollbackIntent } from './PgExperimentStore.js';
import type { Registry } from './ports.js';
import { servingVerdict, type ServingHealth, type ServingHealthLimits } from './servingHealth.js';
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

export interface GuardDeps {
  store: PgExperimentStore;
  registry: Registry;
  decide: RunDecision;
  champions: Champions;
  lifecycle: ExperimentLifecycle;
  health: HealthSettings;
  metrics: AbRouterMetrics;
  log: Logger;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}`;

/**
 * Guards each model's champion while no experiment runs for it: rolls it back (registry first,
 * then one transaction of guard, `rolled_back` event and routing) when its accuracy falls below
 * its baseline or serving reports it unhealthy. Operators roll back through the same path.
 */
export const createChampionGuard = (deps: GuardDeps) => {
  const { store, registry, decide, champions, lifecycle, health, metrics: m, log } = deps;

  /**
   * Rolls the champion back if it is still `expectedChampion` (default: the registry's champion
   * now), compare-and-set in the registry: of two rollbacks that saw the same champion only one
   * applies, the other is a Conflict.
   */
  const rollback = async (model: string, reason: string, automatic: boolean, expectedChampion?: string): Promise<{ version: string; from: string }> => {
    const name = ModelName.parse(model);
    const current = await registry.champion(name);
    if (current === undefined) throw new NotFound(`model ${model} has no champion to roll back; bootstrap or promote a version first`);
    const expected = expectedChampion === undefined ? current : ModelVersion.parse(expectedChampion);
    // Checked before the running experiment is stopped, so a stale request changes nothing at all.
    if (expected !== current) throw new Conflict(`the champion of ${model} is ${current}, not ${expected}: it changed meanwhile; look again before rolling back`, { reason: 'champion_changed' });
    const running = await store.running(model);
    if (running) await lifecycle.stop(running.id, `champion rolled back: ${reason}`);
    // Decided first, so a crash from here on is finished by resumeRollbacks (no operator needed).
    const intent = { id: randomUUID(), from: expected, reason: reason.slice(0, 4000), automatic };
    const ours = await store.recordRollbackIntent(model, intent);
    try {
      return await applyRollback(model, intent, false);
    } catch (err) {
      // The champion moved between our check and the registry: this rollback is moot (a pending one of someone else stays).
      if (ours && err instanceof Conflict && err.reason === 'champion_changed') await store.clearRollbackIntent(model, intent.id);
      throw err;
    }
  };

  /**
   * The registry moves (compare-and-set on `from`), then one transaction sets the guard, writes the
   * rolled_back event and the routing, and clears the intent. `resuming`: a registry that already
   * moved off `from` is this rollback having happened before a crash, so only our part is finished.
   */
  const applyRollback = async (model: string, intent: RollbackIntent, resuming: boolean): Promise<{ version: string; from: string }> => {
    const name = ModelName.parse(model);
    const from = ModelVersion.parse(intent.from);
    const current = await registry.champion(name);
    let version: ModelVersion;
    if (current === from || !resuming) {
      try {
        ({ version } = await registry.rollback(name, intent.reason, intent.automatic, from));
      } catch (err) {
        // Refused for good (nothing to roll back to): moot. A changed champion is left to the caller.
        if (err instanceof FlywheelError && !err.retriable && !(err instanceof Conflict && err.reason === 'champion_changed')) await store.clearRollbackIntent(model, intent.id);
        throw err;
      }
    } else if (current !== undefined) {
      version = current; // the registry already moved (before a crash): finish our part
    } else {
      await store.clearRollbackIntent(model, intent.id);
      throw new NotFound(`model ${model} has no champion any more; the rollback of ${from} is moot`);
    }
    failpoint('ab-router.after-rollback-registry'); // the registry rolled back; guard, event and routing not yet
    await decide(async (tx) => {
      await tx.store.setChampion(model, version); // baseline: the restored version's first window
      await tx.announce(model, { action: 'rolled_back', version, from, reason: intent.reason.slice(0, 4000), automatic: intent.automatic });
      await championOnly(tx, model, version);
      await tx.store.clearRollbackIntent(model);
    });
    m.rollbacks.inc({ model, automatic: String(intent.automatic) });
    log.warn({ model, version, from, reason: intent.reason, automatic: intent.automatic }, 'champion rolled back');
    return { version, from };
  };

  /** Finishes rollbacks a crash interrupted (decided more than `graceMs` ago); returns how many. */
  const resumeRollbacks = async (o: { graceMs: number } = { graceMs: 10_000 }): Promise<number> => {
    let done = 0;
    for (const { model, intent } of await store.pendingRollbacks(new Date(Date.now() - o.graceMs))) {
      try {
        await applyRollback(model, intent, true);
        done += 1;
        log.warn({ model, from: intent.from }, 'finished a rollback a crash had interrupted');
      } catch (err) {
        log.error({ err, model, from: intent.from }, 'could not finish an interrupted rollback; retried at the next tick unless it is moot');
      }
    }
    return done;
  };

  /** Why the champion's accuracy calls for a rollback, if it does; sets the baseline on its first full window. */
  const accuracyProblem = async (model: string, champ: GuardedChampion): Promise<string | undefined> => {
    const w = await store.recentAccuracy(model, champ.version, champ.since, health.windowSize);
    if (w.n === 0) return undefined;
    const accuracy = w.successes / w.n;
    m.championAccuracy.set({ model }, accuracy);
    if (w.n < health.minSamples) return undefined;
    if (champ.baselineAccuracy === null) {
      await store.setBaseline(model, champ.version, accuracy, w.n);
      return undefined;
    }
    const drop = champ.baselineAccuracy - accuracy;
    if (drop <= health.maxAccuracyDrop) {
      if (champ.onProbation) await store.endProbation(model, champ.version);
      return undefined;
    }
    return `champion ${champ.version} accuracy ${pct(accuracy)}% over its last ${w.n} labelled predictions is ${pct(drop)} points below its baseline ${pct(champ.baselineAccuracy)}% (limit ${pct(health.maxAccuracyDrop)})`;
  };

  const checkHealth = async (): Promise<void> => {
    // One scrape per tick for every model; a serving replica that does not answer skips only this check.
    const serving: Map<string, ServingHealth> | undefined = health.serving
      ? await health.serving.source.sample().catch((err: unknown) => {
          log.warn({ err }, 'could not read serving metrics; judging health on accuracy alone this time');
          return undefined;
        })
      : undefined;
    for (const model of await store.watchedModels()) {
      const champ = await store.champion(model);
      if (!champ) continue;
      // A running experiment is already testing the remedy (typically a challenger trained on the very
      // drift that lowers the champion's accuracy); rolling back now would only end it without evidence.
      // Not so for a champion on probation: its drop is its own (a bad push), and a challenger trained
      // while it served would be tested against the wrong bar; the rollback stops that experiment.
      if (!champ.onProbation && (await store.running(model))) continue;
      const servingHealth = serving?.get(model);
      const servingProblem = servingHealth && health.serving ? servingVerdict(servingHealth, health.serving.limits) : undefined;
      const reason = servingProblem && champions.canRollback(model)
        ? `champion ${champ.version}: ${servingProblem}`
        : await accuracyProblem(model, champ);
      if (reason === undefined || !champions.canRollback(model)) continue;
      try {
        await rollback(model, reason, true, champ.version);
      } catch (err) {
        // Someone else changed the champion since it was judged: the next tick judges the new one.
        if (err instanceof Conflict && err.reason === 'champion_changed') {
          log.warn({ model, judged: champ.version, reason: err.message }, 'automatic rollback skipped: the champion changed meanwhile');
          continue;
        }
        // A store that is down is retried at the next tick; a refusal (nothing to roll back to) waits for a new champion.
        if (classifyError(err)?.retriable === true) {
          log.warn({ err, model, reason }, 'automatic rollback failed; retried at the next tick');
          continue;
        }
        champions.rollbackFailed(model);
        log.error({ err, model, reason }, 'automatic rollback failed; the champion stays until an operator acts or a new champion is adopted');
      }
    }
  };

  return { rollback, checkHealth, resumeRollbacks };
};
