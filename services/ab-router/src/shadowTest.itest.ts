import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientSource, FLYWHEEL_SOURCES, makeEvent, ModelName, type DataOf } from '@flywheel/contracts';
import type { ExperimentSettingsInput } from './experimentSettings.js';
import type { ForgettingVerdict } from './forgettingGate.js';
import { APP_CLIENT, startAbRouter, until, v, version, type AbRouterHarness } from './testing/abRouterHarness.js';

// Shadow tests and the forgetting gate on real Kafka, PostgreSQL and Redis (private schema, Redis
// prefix and topic prefix, removed in afterAll).
let h: AbRouterHarness;
beforeAll(async () => {
  h = await startAbRouter('ab-shadow');
});
afterAll(async () => {
  await h?.stop();
});

/** One labelled request scored by both: which of champion (label "a") and shadow were right. */
type Cell = 'bothRight' | 'championOnly' | 'challengerOnly' | 'bothWrong';
/** 300 requests: 234 both right, 3 champion only, 27 challenger only, 36 both wrong (0.79 → 0.87, 90 % agreement). */
const CELLS: Cell[] = [
  ...Array<Cell>(234).fill('bothRight'), ...Array<Cell>(3).fill('championOnly'), ...Array<Cell>(27).fill('challengerOnly'), ...Array<Cell>(36).fill('bothWrong'),
];
const shadowLabel = (c: Cell): string => (c === 'championOnly' || c === 'challengerOnly' ? 'b' : 'a');

/** A model with champion 1.0.0 and challenger 1.0.1 (trained from it, with the trainer's forgetting metric), in a test started now. */
const shadowTest = async (settings: ExperimentSettingsInput, challengerForgetting: number) => {
  const model = ModelName.parse(`abs-${h.run}-${randomUUID().slice(0, 6)}`);
  await h.registry.registerChampion({ ...version(model, '1.0.0'), metrics: { accuracy: 0.8, oldAccuracy: 0.9 } });
  await h.registry.registerChallenger({ ...version(model, '1.0.1'), parentVersion: v('1.0.0'), metrics: { accuracy: 0.86, forgetting: challengerForgetting } });
  const e = await h.router.startExperiment(model, '1.0.1', { shadowMinPairs: 100, ...settings });
  if (!e) throw new Error('no experiment started');
  return { model, experimentId: e.id };
};

/** Serving's prediction events: the champion answered "a", the shadow scored the same request. */
const publishPredictions = async (model: string, experimentId: string, ids: string[]): Promise<void> => {
  await h.bus.publisher.publishMany('predictions', ids.map((id, i) => makeEvent('predictions', {
    source: FLYWHEEL_SOURCES.serving, subject: model,
    data: {
      predictionId: id as never, modelVersion: v('1.0.0'), variant: 'champion', subjectId: `s${i}`, client: APP_CLIENT as never, text: 'some text', label: 'a', confidence: 0.8, latencyMs: 3,
      shadow: { modelVersion: v('1.0.1'), label: shadowLabel(CELLS[i] as Cell), confidence: 0.7, experimentId },
    },
  })));
};

/** What the client the answer went to says: right/wrong, or the correct label when the champion was wrong (an outside client: all wrong). */
const publishFeedback = async (model: string, ids: string[], from: { outside?: string } = {}): Promise<void> => {
  await h.bus.publisher.publishMany('feedback', ids.map((id, i) => {
    const c = CELLS[i] as Cell;
    // An outside client claims every answer was wrong (it may not vote on answers that went to another client).
    const data = from.outside ? { kind: 'thumbs_down' }
      : c === 'challengerOnly' ? { kind: 'misclassification', predictedLabel: 'a', correctLabel: 'b' }
      : { kind: c === 'bothWrong' ? 'thumbs_down' : 'thumbs_up' };
    const base = { feedbackId: randomUUID(), predictionId: id, text: 'some text', ...data };
    return from.outside
      ? makeEvent('feedback', { source: clientSource(from.outside), subject: model, data: base as DataOf<'feedback'> })
      : makeEvent('feedback', { source: FLYWHEEL_SOURCES.feedbackIngest, subject: model, data: { ...base, client: APP_CLIENT, clientTrust: 'standard' } as DataOf<'feedback'> });
  }), { key: (e) => e.data.predictionId ?? e.subject });
};

const labelledShadow = async (experimentId: string): Promise<number> =>
  Number((await h.p.pool.query<{ n: string }>('SELECT count(correct) AS n FROM ab_outcomes WHERE shadow_experiment_id = $1', [experimentId])).rows[0]?.n ?? 0);

/** Runs the 300 requests through the test: predictions, agreement checked before any outcome, then outcomes. */
const feed = async (model: string, experimentId: string) => {
  const ids = CELLS.map(() => randomUUID());
  await publishPredictions(model, experimentId, ids);
  await until('shadow predictions recorded', async () =>
    (await h.p.pool.query('SELECT 1 FROM ab_outcomes WHERE shadow_experiment_id = $1', [experimentId])).rowCount === ids.length);
  const before = await h.router.evaluate(experimentId);
  // Another client's verdicts on these answers must not count (outcome trust rule), for the shadow either.
  await publishFeedback(model, ids, { outside: 'mallory' });
  await publishFeedback(model, ids);
  await until('outcomes joined', async () => (await labelledShadow(experimentId)) === ids.length);
  return before;
};

describe('shadow tests', () => {
  it('routes the challenger in shadow, reports agreement before any outcome, compares paired and promotes (shadow-then-promote)', async () => {
    const { model, experimentId } = await shadowTest({ policy: 'shadow-then-promote' }, 0.01);
    expect(await h.routingOf(model)).toMatchObject({ champion: '1.0.0', challengerShareBps: 0, shadow: '1.0.1', shadowExperimentId: experimentId });
    expect((await h.routingOf(model)).challenger).toBeUndefined();

    const before = await feed(model, experimentId);
    expect(before.action).toBe('continue');
    expect(before.experiment.phase).toBe('shadow');
    expect(before.experiment.shadow?.totals.scored).toBe(300);
    expect(before.experiment.shadow?.agreementRate).toBeCloseTo(270 / 300, 10);

    const outcome = await h.router.evaluate(experimentId);
    expect(outcome.experiment.shadow?.totals).toMatchObject({ bothRight: 234, championOnly: 3, challengerOnly: 27, bothWrong: 36, undecidable: 0 });
    expect(outcome.action).toBe('promoted');
    const [e] = await h.router.list({ model });
    expect(e?.state).toBe('promoted');
    const decision = e?.decision as { phase: string; forgetting: ForgettingVerdict };
    expect(decision.phase).toBe('shadow');
    expect(decision.forgetting).toMatchObject({ pass: true, basis: 'same_holdout', drop: 0.01 });
    expect((await h.registry.champion(model))?.version).toBe('1.0.1');
    await until('champion-only routing cached', async () => {
      const r = await h.routingOf(model);
      return r.champion === '1.0.1' && r.shadow === undefined;
    });
  });

  it('refuses the promotion when the challenger forgot old classes beyond the margin, and says so in the decision record', async () => {
    const { model, experimentId } = await shadowTest({ policy: 'shadow-then-promote', maxForgetting: 0.02 }, 0.06);
    await feed(model, experimentId);
    const outcome = await h.router.evaluate(experimentId);
    expect(outcome.action).toBe('rejected');
    const [e] = await h.router.list({ model });
    expect(e?.state).toBe('rejected');
    const decision = e?.decision as { decision: string; forgetting: ForgettingVerdict };
    expect(decision.decision).toBe('promote'); // the test alone would have promoted
    expect(decision.forgetting).toMatchObject({ pass: false, basis: 'same_holdout', drop: 0.06, margin: 0.02 });
    expect(decision.forgetting.reason).toMatch(/forgetting gate refused/);
    expect((await h.registry.champion(model))?.version).toBe('1.0.0');
    const history = await h.registry.history(model);
    expect(history.some((r) => r.version === '1.0.1' && /forgetting gate refused/.test(r.reason))).toBe(true);
  });

  it('hands a won shadow test over to an A/B split (shadow-then-ab)', async () => {
    const { model, experimentId } = await shadowTest({ policy: 'shadow-then-ab', splitBps: 2000 }, 0);
    await feed(model, experimentId);
    const outcome = await h.router.evaluate(experimentId);
    expect(outcome.action).toBe('continue');
    const [e] = await h.router.list({ model });
    expect(e).toMatchObject({ state: 'running', phase: 'ab' });
    const routing = await h.routingOf(model);
    expect(routing).toMatchObject({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 2000, experimentId });
    expect(routing.shadow).toBeUndefined();
  });
});
