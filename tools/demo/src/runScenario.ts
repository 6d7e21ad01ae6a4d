import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalStack } from '@flywheel/local-stack';
import type { EventObserver } from './createEventObserver.js';
import { StageTimeout } from './createEventObserver.js';
import type { Progress } from './createProgress.js';
import { createTraffic, type Observation, type Traffic, type TrafficMix } from './createTraffic.js';
import type { LabelledText, ScenarioData } from './scenarioData.js';

/** One row of the summary table. */
export interface StageResult {
  stage: string;
  seconds: number;
  accuracyBefore?: number | undefined;
  accuracyAfter?: number | undefined;
  /** Old-category accuracy before → after (only where it was measured). */
  oldBefore?: number | undefined;
  oldAfter?: number | undefined;
  note: string;
}

/** Everything a run measured. */
export interface ScenarioResult {
  model: string;
  newLabel: string;
  oldLabels: string[];
  stages: StageResult[];
  observations: Observation[];
  versions: { base: string; challenger: string; bad: string; restored: string };
  oldAccuracy: { before: number; after: number };
  newAccuracy: { before: number; after: number };
  /** ms since t0 */
  marks: { firstShiftMisclassification: number; trigger: number; challenger: number; promoted: number; badPushed: number; rolledBack: number };
  triggerReason: string;
  counts: { predictions: number; confirmations: number; misclassifications: number };
}

export interface ScenarioOptions {
  model: string;
  workDir: string;
  t0: number;
  /** Stage timeouts are multiplied by this (slow machines). */
  timeoutScale: number;
  seed: number;
}

const STEADY: TrafficMix = { newShare: 0, batch: 20, pauseMs: 100 };
const SHIFT: TrafficMix = { newShare: 0.5, batch: 20, pauseMs: 150 };
/** While the trainer works, traffic is light so the corrections it brings do not re-trigger retraining at once. */
const QUIET: TrafficMix = { newShare: 0.5, batch: 4, pauseMs: 1000 };
/** Paced so that the champion arm's corrections during the test stay under the retraining threshold. */
const AFTER: TrafficMix = { newShare: 0.3, batch: 20, pauseMs: 400 };

const accuracy = (xs: readonly Observation[]): number => (xs.length === 0 ? 0 : xs.filter((o) => o.correct).length / xs.length);
const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);
const toJsonl = (rows: readonly LabelledText[]): string => rows.map((r) => JSON.stringify({ text: r.text, label: r.label })).join('\n') + '\n';

/**
 * The loop, stage by stage, on a running stack: bootstrap, steady traffic, a new category, the
 * trigger, the challenger, the A/B test and promotion, then a bad version and its rollback.
 * Each stage shows one live line; every wait has a timeout naming the stage and the service log.
 */
export const runScenario = async (deps: { stack: LocalStack; observer: EventObserver; progress: Progress; data: ScenarioData }, o: ScenarioOptions): Promise<ScenarioResult> => {
  const { stack, observer, progress, data } = deps;
  const api = stack.api;
  const now = (): number => Date.now() - o.t0;
  const stages: StageResult[] = [];
  mkdirSync(o.workDir, { recursive: true });
  const traffic: Traffic = createTraffic({
    api, model: o.model, t0: o.t0, oldPool: data.oldTraffic, newPool: data.newTraffic,
    users: 2000, confirmRate: 0.85, reportRate: 0.9, seed: o.seed,
  });
  const since = (from: number) => traffic.observations.filter((x) => x.t >= from);
  const tick = async (mix: TrafficMix): Promise<void> => {
    stack.assertAlive();
    await traffic.tick(mix);
  };
  const timeout = (s: number): number => Math.round(s * 1000 * o.timeoutScale);
  const stage = async <T>(name: string, run: (t: number) => Promise<T>): Promise<T> => {
    progress.stage(name);
    observer.mark(name);
    return run(now());
  };

  // 1. Bootstrap the base on the old categories.
  const boot = await stage('bootstrap base model', async (t) => {
    const file = join(o.workDir, 'base.jsonl');
    writeFileSync(file, toJsonl(data.base));
    progress.update(`training on ${data.base.length} rows, ${data.oldLabels.length} categories (new category "${data.newLabel}" held out)`);
    const { stdout } = await stack.cli(['bootstrap', '--model', o.model, '--data', file, '--reason', 'demo: base model on the old categories'], { timeoutMs: timeout(300) });
    const m = /@(\d+\.\d+\.\d+) is champion \(accuracy ([\d.]+)/.exec(stdout);
    const version = m?.[1] ?? '1.0.0';
    // serving hears of the model on model-updates; wait until it answers.
    const deadline = Date.now() + timeout(90);
    for (;;) {
      try {
        await api.serving.predict(o.model, data.evalOld[0]?.text ?? 'hello', 'warmup');
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new StageTimeout(`serving did not answer for ${o.model} within ${timeout(90) / 1000} s after the bootstrap: ${(err as Error).message}`, 'serving');
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    // Old categories only: new-category texts here would already look like drift to the drift-monitor.
    // The base cannot answer the new category at all (its label is not in the head): 0 by construction.
    const old = await traffic.evaluate(data.evalOld);
    const fresh = { accuracy: 0 };
    const valAcc = m?.[2] ? Number(m[2]) : undefined;
    stages.push({ stage: 'bootstrap base model', seconds: (now() - t) / 1000, accuracyAfter: valAcc, oldAfter: old.accuracy, note: `${o.model}@${version}, ${data.base.length} rows, ${data.oldLabels.length} labels` });
    progress.done(`${o.model}@${version} champion; validation ${pct(valAcc)}, old categories ${pct(old.accuracy)}`);
    return { version, oldBefore: old.accuracy, newBefore: fresh.accuracy };
  });

  // 2. Steady traffic: users confirm most predictions.
  const steadyAcc = await stage('traffic: users confirm predictions', async (t) => {
    for (let i = 0; i < 12; i++) {
      await tick(STEADY);
      const c = traffic.counts();
      progress.update(`${c.predictions} predictions, ${c.confirmations} confirmed, ${c.misclassifications} reported wrong, accuracy ${pct(accuracy(since(t)))}`);
    }
    const acc = accuracy(since(t));
    const c = traffic.counts();
    stages.push({ stage: 'steady traffic', seconds: (now() - t) / 1000, accuracyAfter: acc, note: `${c.predictions} predictions, ${c.confirmations} confirmations` });
    progress.done(`${c.predictions} predictions, accuracy ${pct(acc)}, ${c.confirmations} confirmations`);
    return acc;
  });

  let updatesAtShift = 0;
  // 3. A new category appears; corrections flow until a rule fires.
  const trigger = await stage(`new category "${data.newLabel}" appears`, async (t) => {
    updatesAtShift = observer.updates.length;
    const e = await observer.waitForTrigger({
      after: observer.triggers.length,
      timeoutMs: timeout(150), what: 'a retraining trigger (aggregator threshold/performance rule or drift-monitor)',
      onTick: async () => {
        await tick(SHIFT);
        const c = traffic.counts();
        progress.update(`accuracy ${pct(accuracy(since(t)))} (was ${pct(steadyAcc)}), ${c.misclassifications} misclassifications reported`);
      },
    });
    const acc = accuracy(since(t));
    const by = e.data.requestedBy;
    stages.push({ stage: 'new category → retraining trigger', seconds: (now() - t) / 1000, accuracyBefore: steadyAcc, accuracyAfter: acc, note: `${e.data.reason} by ${by}` });
    progress.done(`accuracy ${pct(steadyAcc)} → ${pct(acc)}; ${e.data.reason} trigger from ${by}`);
    return { at: now(), reason: `${e.data.reason} (${by})`, shiftAcc: acc };
  });

  // 4. The trainer trains an adapter and registers a challenger.
  const challenger = await stage('trainer: update → challenger', async (t) => {
    const u = await observer.waitForUpdate((x) => x.action === 'challenger_registered', {
      after: updatesAtShift,
      timeoutMs: timeout(300), what: 'the trainer to register a challenger',
      onTick: async () => {
        const failed = observer.training.find((x) => x.data.state === 'failed');
        if (failed) throw new StageTimeout(`training failed: ${failed.data.reason ?? 'no reason given'}`, 'trainer');
        // A candidate its quality gates reject is the loop working, not a fault (the first corrections
        // may be too few to beat the champion): corrections keep coming until the next retraining.
        // Only a model that keeps failing its gates ends the demo.
        const rejected = observer.training.filter((x) => x.data.state === 'rejected');
        const lastRejected = rejected.at(-1);
        if (lastRejected && rejected.length >= 3) throw new StageTimeout(`training rejected ${rejected.length} times; the last: ${lastRejected.data.reason ?? 'no reason given'}`, 'trainer');
        const last = observer.training.at(-1)?.data;
        await tick(rejected.length > 0 ? SHIFT : QUIET);
        progress.update(last ? `${last.state}${last.stage ? ` ${last.stage}` : ''} ${Math.round(last.progress * 100)}%` : 'waiting for the trainer to pick up the job');
      },
    });
    if (u.action !== 'challenger_registered') throw new Error('unreachable');
    const acc = typeof u.metrics.accuracy === 'number' ? u.metrics.accuracy : undefined;
    const forgetting = typeof u.metrics.forgetting === 'number' ? u.metrics.forgetting : undefined;
    stages.push({ stage: 'training → challenger registered', seconds: (now() - t) / 1000, accuracyBefore: trigger.shiftAcc, accuracyAfter: acc, note: `${u.version}${forgetting === undefined ? '' : `, forgetting ${pct(forgetting)}`} (trainer holdout)` });
    progress.done(`${o.model}@${u.version} registered; holdout accuracy ${pct(acc)}${forgetting === undefined ? '' : `, forgetting ${pct(forgetting)}`}`);
    return { version: u.version as string, at: now() };
  });

  // 5. The ab-router splits traffic; the challenger wins on evidence and is promoted.
  const promoted = await stage('A/B test: challenger vs champion', async (t) => {
    const arm = (v: 'champion' | 'challenger') => since(t).filter((x) => x.variant === v);
    // Corrections keep coming while the test runs; if they retrain the model again, the newer challenger
    // replaces this one (the ab-router restarts the test), so follow whichever challenger is newest.
    const challengers = (): string[] => observer.updates.slice(updatesAtShift).map((x) => x.data).flatMap((x) => (x.action === 'challenger_registered' ? [x.version] : []));
    const u = await observer.waitForUpdate((x) => (x.action === 'promoted' && challengers().includes(x.version)) || (x.action === 'rejected' && x.version === challengers().at(-1)), {
      timeoutMs: timeout(180), what: `the ab-router to decide on ${challenger.version}`,
      onTick: async () => {
        await tick(AFTER);
        const ch = arm('champion');
        const cl = arm('challenger');
        progress.update(`champion ${pct(accuracy(ch))} (n=${ch.length}) vs challenger ${pct(accuracy(cl))} (n=${cl.length})`);
      },
    });
    if (u.action === 'rejected') throw new StageTimeout(`the ab-router rejected the challenger ${u.version}: ${u.reason}`, 'ab-router');
    if (u.action !== 'promoted') throw new Error('unreachable');
    challenger.version = u.version;
    const ch = accuracy(arm('champion'));
    const cl = accuracy(arm('challenger'));
    const at = now();
    const old = await traffic.evaluate(data.evalOld);
    const fresh = await traffic.evaluate(data.evalNew);
    stages.push({ stage: 'A/B test → challenger promoted', seconds: (at - t) / 1000, accuracyBefore: ch, accuracyAfter: cl, oldBefore: boot.oldBefore, oldAfter: old.accuracy, note: `"${data.newLabel}" ${pct(boot.newBefore)} → ${pct(fresh.accuracy)}` });
    progress.done(`${challenger.version} promoted: champion ${pct(ch)} vs challenger ${pct(cl)}; old categories ${pct(boot.oldBefore)} → ${pct(old.accuracy)}`);
    return { at, oldAfter: old.accuracy, newAfter: fresh.accuracy };
  });

  // 6. A deliberately bad version is pushed and rolled back automatically.
  const bad = await stage('bad version pushed → rollback', async () => {
    // A retraining started meanwhile (corrections kept coming) would race the bad version: let it finish
    // and its challenger be decided first, so the health check (not an experiment) is what removes it.
    const deadline = Date.now() + timeout(240);
    // A challenger as good as the new champion (both learned the new category) takes the sequential
    // test many outcomes to give up on, and further retrainings restart it: after a while the demo
    // stops it, as an operator would (POST /admin/experiments/:id/stop), and the champion stays.
    const stopAfter = Date.now() + timeout(60);
    for (;;) {
      const lastTrigger = observer.triggers.at(-1);
      const lastDone = observer.training.filter((x) => ['succeeded', 'failed', 'rejected'].includes(x.data.state)).at(-1);
      const training = lastTrigger !== undefined && (lastDone === undefined || Date.parse(lastDone.time) < Date.parse(lastTrigger.time));
      const running = (await api.abRouter.experiments(o.model)).filter((e) => e.state === 'running');
      if (!training && running.length > 0 && Date.now() > stopAfter) {
        for (const e of running) await api.abRouter.stop(e.id, `demo: ${e.challengerVersion} is as good as champion ${e.championVersion} so far; ended to show the rollback`);
        continue;
      }
      const testing = running.length > 0;
      if (!training && !testing) break;
      if (Date.now() > deadline) throw new StageTimeout('a retraining or experiment that started after the promotion did not finish in time', training ? 'trainer' : 'ab-router');
      progress.update(`waiting for the ${training ? 'retraining' : 'experiment'} that started after the promotion`);
      await tick(AFTER);
    }
    // The new champion needs a window of labelled traffic: it is the bar the next champion is held to.
    for (let i = 0; i < 10; i++) {
      await tick({ ...AFTER, pauseMs: 150 });
      progress.update(`serving ${challenger.version}: accuracy ${pct(accuracy(since(promoted.at)))}; building its health baseline`);
    }
    await new Promise((r) => setTimeout(r, 2000));
    const goodAcc = accuracy(since(promoted.at));
    const file = join(o.workDir, 'bad.jsonl');
    writeFileSync(file, toJsonl(data.bad));
    progress.update('pushing a version trained on shuffled labels (flywheel bootstrap)');
    const { stdout } = await stack.cli(['bootstrap', '--model', o.model, '--data', file, '--epochs', '2', '--reason', 'demo: deliberately bad version (shuffled labels)'], { timeoutMs: timeout(180) });
    const badVersion = /@(\d+\.\d+\.\d+) is champion/.exec(stdout)?.[1] ?? '?';
    const pushedAt = now();
    const u = await observer.waitForUpdate((x) => x.action === 'rolled_back' && x.from === badVersion, {
      timeoutMs: timeout(120), what: `the ab-router health check to roll back ${badVersion}`,
      onTick: async () => {
        await tick(AFTER);
        const xs = since(pushedAt).filter((x) => x.version === badVersion);
        progress.update(`${badVersion} serving: accuracy ${pct(accuracy(xs))} over ${xs.length} predictions; waiting for the health check`);
      },
    });
    if (u.action !== 'rolled_back') throw new Error('unreachable');
    const rolledAt = now();
    const badAcc = accuracy(since(pushedAt).filter((x) => x.version === badVersion));
    // Traffic after the rollback: the restored version answers again.
    for (let i = 0; i < 5; i++) await tick(AFTER);
    const after = since(rolledAt).filter((x) => x.version === u.version);
    stages.push({ stage: 'bad version → automatic rollback', seconds: (rolledAt - pushedAt) / 1000, accuracyBefore: badAcc, accuracyAfter: accuracy(after), note: `${badVersion} rolled back to ${u.version}` });
    progress.done(`${badVersion} (accuracy ${pct(badAcc)}) rolled back to ${u.version} in ${((rolledAt - pushedAt) / 1000).toFixed(1)} s; accuracy ${pct(goodAcc)} → ${pct(accuracy(after))} after`);
    return { badVersion, restored: u.version, pushedAt, rolledAt };
  });

  return {
    model: o.model, newLabel: data.newLabel, oldLabels: data.oldLabels, stages, observations: traffic.observations,
    versions: { base: boot.version, challenger: challenger.version, bad: bad.badVersion, restored: bad.restored },
    oldAccuracy: { before: boot.oldBefore, after: promoted.oldAfter },
    newAccuracy: { before: boot.newBefore, after: promoted.newAfter },
    marks: {
      firstShiftMisclassification: traffic.firstShiftMisclassificationAt ?? trigger.at,
      trigger: trigger.at, challenger: challenger.at, promoted: promoted.at, badPushed: bad.pushedAt, rolledBack: bad.rolledAt,
    },
    triggerReason: trigger.reason,
    counts: traffic.counts(),
  };
};
