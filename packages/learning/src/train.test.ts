import { describe, expect, it } from 'vitest';
import { fitTemperature } from './calibration.js';
import { evaluateState } from './evaluateState.js';
import { createRng } from './random.js';
import { deserializeTrainingState, serializeTrainingState } from './serialize.js';
import { syntheticExamples, tinyOptions } from './testing/synthetic.js';
import { createTfClassifier } from './tfClassifier.js';
import { columnNorms } from './weightAlign.js';
import { prepareExamples, resolveOptions } from './options.js';
import { ewcPenalty } from './strategies/ewc.js';
import { floorNewClasses, updateReservoir } from './strategies/replay.js';
import { continueTraining, trainBase } from './train.js';

const oldLabels = ['alpha', 'beta', 'gamma'];
const newLabels = ['delta', 'epsilon'];

describe('training', async () => {
  const base = await trainBase(syntheticExamples(oldLabels, 40, 1), tinyOptions);

  it('trains a base from scratch that classifies held-out data and reports its backend', () => {
    expect(['wasm', 'cpu', 'tfjs-node', 'tfjs-node-gpu']).toContain(base.backend);
    expect(base.startedFrom).toBe('scratch');
    const evalOld = evaluateState(base.state, syntheticExamples(oldLabels, 20, 99));
    expect(evalOld.accuracy).toBeGreaterThan(0.9);
    expect(base.state.baseVersion).toMatch(/^[0-9a-f]{16}$/);
  });

  it('is reproducible with a fixed seed', async () => {
    const again = await trainBase(syntheticExamples(oldLabels, 40, 1), tinyOptions);
    expect(again.state.baseVersion).toBe(base.state.baseVersion);
    expect([...again.state.adapter.head.kernel.slice(0, 20)]).toEqual([...base.state.adapter.head.kernel.slice(0, 20)]);
  });

  it('grows the head for new labels and keeps old columns, continuing at the lower rate', async () => {
    const next = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(newLabels, 40, 2), { ...tinyOptions, epochs: 15 });
    expect(next.startedFrom).toBe('current');
    expect(next.learningRate).toBe(5e-3);
    expect(next.state.labels).toEqual([...oldLabels, ...newLabels]);
    expect(next.state.baseVersion).toBe(base.state.baseVersion);
    expect([...next.state.base.dense[0]!.kernel.slice(0, 10)]).toEqual([...base.state.base.dense[0]!.kernel.slice(0, 10)]); // base frozen
    const evalNew = evaluateState(next.state, syntheticExamples(newLabels, 20, 98));
    expect(evalNew.accuracy).toBeGreaterThan(0.9);
  });

  it('bias correction: an update on new rows alone shifts the new classes down, and old rows are answered right more often', async () => {
    // Old rows with one class word among four shared noise words: an update on new rows alone
    // (no replay) ties the noise words to the new classes, which then take these rows.
    const weak = (labels: readonly string[], perClass: number, seed: number) => {
      const rng = createRng(seed);
      return labels.flatMap((label) => Array.from({ length: perClass }, (_, i) => ({ text: [`${label}x${rng.int(8)}`, ...Array.from({ length: 4 }, () => `noise${rng.int(30)}`)].join(' '), label, group: `w-${label}-${seed}-${i}` })));
    };
    // held-out rows of old and new classes alike, as trainCandidate's validation split gives
    const validation = [...weak(oldLabels, 20, 60), ...syntheticExamples(newLabels, 15, 61)];
    const opts = { ...tinyOptions, mode: 'full' as const, epochs: 15, patience: 15, learningRate: { fresh: 1e-2, continued: 1e-2 }, validation };
    const update = syntheticExamples(newLabels, 60, 2);
    const plain = await continueTraining({ base: base.state, current: base.state }, update, opts);
    const corrected = await continueTraining({ base: base.state, current: base.state }, update, { ...opts, strategy: { biasCorrection: true } });
    expect(plain.newClassShift).toBe(0);
    expect(corrected.newClassShift).toBeLessThan(0);
    const oldRows = weak(oldLabels, 40, 97);
    const oldPlain = evaluateState(plain.state, oldRows).accuracy;
    const oldCorrected = evaluateState(corrected.state, oldRows).accuracy;
    expect(oldCorrected).toBeGreaterThan(oldPlain + 0.5);
    // the held-out rows as a whole are answered better, and the new classes are still answered
    expect(evaluateState(corrected.state, validation).accuracy).toBeGreaterThan(evaluateState(plain.state, validation).accuracy + 0.2);
    expect(evaluateState(corrected.state, syntheticExamples(newLabels, 20, 98)).accuracy).toBeGreaterThan(0.4);
  });

  it('the stored temperature is the best one for the logits the version produces, after its head corrections', async () => {
    // weak old rows and an update on new rows alone: bias correction shifts the new classes (and
    // weight aligning runs too), and both must come before the temperature is fitted
    const rng = createRng(64);
    const weak = oldLabels.flatMap((label) => Array.from({ length: 20 }, (_, i) => ({ text: [`${label}x${rng.int(8)}`, ...Array.from({ length: 4 }, () => `noise${rng.int(30)}`)].join(' '), label, group: `t-${label}-${i}` })));
    const validation = [...weak, ...syntheticExamples(newLabels, 20, 63)];
    const opts = { ...tinyOptions, mode: 'full' as const, epochs: 15, patience: 15, learningRate: { fresh: 1e-2, continued: 1e-2 }, validation };
    const r = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(newLabels, 60, 2), { ...opts, strategy: { weightAlign: true, biasCorrection: true } });
    expect(r.newClassShift).toBeLessThan(0);
    const clf = createTfClassifier(r.state);
    const z = clf.logits(validation.map((e) => e.text));
    clf.dispose();
    const y = Int32Array.from(validation.map((e) => r.state.labels.indexOf(e.label)));
    expect(r.state.temperature).toBeCloseTo(fitTemperature(z, y, r.state.labels.length), 2);
  });

  it("replays at sameLabels' replayRatio when an update adds no label, and at ratio when it does", async () => {
    const withReplay = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(oldLabels, 10, 5), { ...tinyOptions, epochs: 1, strategy: { replay: { capacity: 60, ratio: 0.5 } } });
    const replay = { capacity: 60, ratio: 0.75 };
    const sameLabels = { mode: resolveOptions(tinyOptions).mode, replayRatio: 0.25 };
    const same = await continueTraining({ base: base.state, current: withReplay.state }, syntheticExamples(oldLabels, 10, 6), { ...tinyOptions, epochs: 1, sameLabels, strategy: { replay } });
    const added = await continueTraining({ base: base.state, current: withReplay.state }, syntheticExamples(newLabels, 10, 7), { ...tinyOptions, epochs: 1, sameLabels, strategy: { replay } });
    expect(same.replayRatio).toBe(0.25);
    expect(added.replayRatio).toBe(0.75);
    const plain = await continueTraining({ base: base.state, current: withReplay.state }, syntheticExamples(oldLabels, 10, 6), { ...tinyOptions, epochs: 1, strategy: { replay: { capacity: 60, ratio: 0.75 } } });
    expect(plain.replayRatio, 'without sameLabels.replayRatio: ratio').toBe(0.75);
  });

  it('falls back to the base with the fresh rate when the current version is missing or incomplete', async () => {
    const missing = await continueTraining({ base: base.state }, syntheticExamples(oldLabels, 10, 3), { ...tinyOptions, epochs: 1 });
    expect(missing.startedFrom).toBe('base');
    expect(missing.learningRate).toBe(1e-2);
    const broken = { ...base.state, adapter: { ...base.state.adapter, head: { kernel: new Float32Array(3), bias: new Float32Array(1) } } };
    const incomplete = await continueTraining({ base: base.state, current: broken }, syntheticExamples(oldLabels, 10, 3), { ...tinyOptions, epochs: 1 });
    expect(incomplete.startedFrom).toBe('base');
    expect(incomplete.fallbackReason).toMatch(/incomplete/);
  });

  it('EWC: the Fisher is not all zeros, the penalty is non-zero after drifting, and EWC pulls weights back', async () => {
    const withFisher = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(oldLabels, 30, 4), {
      ...tinyOptions,
      epochs: 2,
      strategy: { ewc: { lambda: 1, fisherSamples: 40 } },
    });
    const fisher = withFisher.state.fisher;
    expect(fisher).toBeDefined();
    const total = Object.values(fisher!.values).reduce((acc, v) => acc + v.reduce((a, b) => a + b, 0), 0);
    expect(total).toBeGreaterThan(0);
    expect(Object.values(fisher!.values).every((v) => v.every((x) => x >= 0))).toBe(true);

    const newData = syntheticExamples(newLabels, 40, 5);
    const plainOpts = { ...tinyOptions, epochs: 4, validationFraction: 0 };
    const naive = await continueTraining({ base: base.state, current: withFisher.state }, newData, plainOpts);
    const ewc = await continueTraining({ base: base.state, current: withFisher.state }, newData, {
      ...plainOpts,
      strategy: { ewc: { lambda: 1000, fisherSamples: 40 } },
    });
    const naivePenalty = ewcPenalty(naive.state, fisher!);
    const ewcPenaltyValue = ewcPenalty(ewc.state, fisher!);
    expect(naivePenalty).toBeGreaterThan(0);
    expect(ewcPenaltyValue).toBeLessThan(naivePenalty * 0.5);
  });

  it('weight aligning: after adding classes, new head columns are no larger than the old ones on average', async () => {
    const opts = { ...tinyOptions, epochs: 6, validationFraction: 0 };
    const plain = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(newLabels, 40, 8), opts);
    const aligned = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(newLabels, 40, 8), { ...opts, strategy: { weightAlign: true } });
    const H = 32;
    const meanNorm = (head: { kernel: Float32Array }, from: number, to: number): number => {
      const norms = columnNorms(head.kernel, H, 5);
      return [...norms.slice(from, to)].reduce((a, b) => a + b, 0) / (to - from);
    };
    const plainNew = meanNorm(plain.state.adapter.head, 3, 5);
    const alignedOld = meanNorm(aligned.state.adapter.head, 0, 3);
    const alignedNew = meanNorm(aligned.state.adapter.head, 3, 5);
    expect(alignedNew).toBeLessThanOrEqual(alignedOld * (1 + 1e-5));
    if (plainNew > meanNorm(plain.state.adapter.head, 0, 3)) expect(alignedNew).toBeCloseTo(alignedOld, 4); // it had to shrink them
    const evalNew = evaluateState(aligned.state, syntheticExamples(newLabels, 20, 97));
    expect(evalNew.accuracy).toBeGreaterThan(0.8); // new classes still learnt
  });

  it('full-mode continuation trains the embedding into a new base and can be continued from that base', async () => {
    const opts = { ...tinyOptions, mode: 'full' as const, epochs: 3, strategy: { replay: { capacity: 60 } } };
    const first = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(newLabels, 30, 9), opts);
    expect(first.state.baseVersion).not.toBe(base.state.baseVersion);
    expect(first.state.base.embedding).not.toEqual(base.state.base.embedding);
    const second = await continueTraining({ base: first.state, current: first.state }, syntheticExamples(['zeta'], 30, 10), opts);
    expect(second.startedFrom).toBe('current');
    expect(second.state.labels).toEqual([...oldLabels, ...newLabels, 'zeta']);
  });

  it('weights sources and drops pseudo-labels under the confidence floor', () => {
    const rows = prepareExamples([
      { text: 'a', label: 'x', source: 'human_correction' },
      { text: 'b', label: 'x', source: 'pseudo_label', confidence: 0.95 },
      { text: 'c', label: 'x', source: 'pseudo_label', confidence: 0.5 },
      { text: 'd', label: 'x' },
    ]);
    expect(rows.map((r) => [r.example.text, r.weight])).toEqual([
      ['a', 2],
      ['b', 0.5],
      ['d', 1],
    ]);
  });

  it('a new class counts at least the given share of the mean old class in the rebalancing prior', () => {
    const prior = { a: 1000, b: 3000, fresh: 20, big: 5000 };
    expect(floorNewClasses(prior, ['a', 'b'], 0.5)).toEqual({ a: 1000, b: 3000, fresh: 1000, big: 5000 });
    expect(floorNewClasses(prior, ['a', 'b'], 0)).toEqual(prior);
    expect(floorNewClasses({ a: 10, fresh: 2 }, ['a', 'fresh'], 1), 'a class the model knows keeps its count').toEqual({ a: 10, fresh: 2 });
  });

  it('learns a new class from a few corrections: small updates take enough steps and the new class is not priced as rare', async () => {
    // A base with a full reservoir of three old classes, then 6 rows of a new class.
    const withReplay = await trainBase(syntheticExamples(oldLabels, 200, 11), { ...tinyOptions, strategy: { replay: { capacity: 600, ratio: 0.5 } } });
    const few = syntheticExamples(['delta'], 6, 12).map((e) => ({ ...e, source: 'human_correction' as const }));
    const heldNew = syntheticExamples(['delta'], 40, 13);
    const update = (minStepsPerEpoch: number, newClassMinShare: number) =>
      continueTraining({ base: withReplay.state, current: withReplay.state }, few, {
        ...tinyOptions, epochs: 3, minStepsPerEpoch, strategy: { replay: { capacity: 600, ratio: 0.5, rebalance: true, newClassMinShare }, distillation: { temperature: 2, weight: 0.5 } },
      });
    const before = evaluateState((await update(1, 0)).state, heldNew).accuracy;
    const after = await update(20, 1);
    expect(before, 'one step per epoch, new class priced at 6 of 606 rows').toBeLessThan(0.5);
    expect(evaluateState(after.state, heldNew).accuracy).toBeGreaterThan(0.8);
    expect(evaluateState(after.state, syntheticExamples(oldLabels, 20, 14)).accuracy, 'old classes kept').toBeGreaterThan(0.9);
  });

  it('keeps a class-balanced reservoir', () => {
    const rng = createRng(1);
    const first = updateReservoir([], {}, syntheticExamples(['a'], 100, 1), 20, rng);
    expect(first.buffer).toHaveLength(20);
    const second = updateReservoir(first.buffer, first.seen, syntheticExamples(['b'], 100, 2), 20, rng);
    expect(second.buffer.filter((e) => e.label === 'a')).toHaveLength(10);
    expect(second.buffer.filter((e) => e.label === 'b')).toHaveLength(10);
    expect(second.seen).toEqual({ a: 100, b: 100 });
  });

  it('serializes the full training state (weights, Fisher, replay) and restores it exactly', async () => {
    const trained = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(oldLabels, 20, 6), {
      ...tinyOptions,
      epochs: 1,
      strategy: { replay: { capacity: 30 }, ewc: { fisherSamples: 10 } },
    });
    const files = serializeTrainingState(trained.state);
    const restored = deserializeTrainingState(files);
    expect(restored.labels).toEqual(trained.state.labels);
    expect(restored.replay).toEqual(trained.state.replay);
    expect(restored.fisher?.values['head.kernel']).toEqual(trained.state.fisher?.values['head.kernel']);
    expect(restored.base.embedding).toEqual(trained.state.base.embedding);
    expect(restored.adapter.layers.dense0?.b).toEqual(trained.state.adapter.layers.dense0?.b);
    const { 'adapter.bin': _dropped, ...partial } = files;
    expect(() => deserializeTrainingState(partial)).toThrow(/adapter.bin/);
  });
});
