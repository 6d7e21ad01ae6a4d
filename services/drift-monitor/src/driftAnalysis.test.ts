import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@flywheel/stats';
import { analyseWindow, CurrentWindow, ReferenceBuilder, snapshotReference, type Observation } from './driftAnalysis.js';

const words = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i.toString(36)}`);
const VOCAB_A = words('alpha', 400);
const VOCAB_B = words('zulu', 400);
const LABELS = ['billing', 'shipping', 'refund'];

/** A synthetic stream: Zipf-like word choice from a vocabulary, 4–14 words per text. */
const stream = (seed: number, vocab: readonly string[]) => {
  const rng = mulberry32(seed);
  return (): Observation => {
    const n = 4 + Math.floor(rng() * 11);
    const text = Array.from({ length: n }, () => vocab[Math.floor(vocab.length * rng() ** 2)]!).join(' ');
    return { text, label: LABELS[Math.floor(rng() * LABELS.length)]!, confidence: 0.5 + 0.5 * rng() };
  };
};

const referenceOf = (seed: number, size = 1000) => {
  const builder = new ReferenceBuilder(size, 32);
  const next = stream(seed, VOCAB_A);
  while (!builder.full) builder.add(next());
  return builder.build();
};

describe('analyseWindow', () => {
  it('detects a vocabulary shift as significant within 200 events', () => {
    const ref = referenceOf(1);
    const win = new CurrentWindow(ref);
    const next = stream(2, VOCAB_B);
    for (let i = 0; i < 200; i++) win.add(next());
    const a = analyseWindow(ref, win, { minLabelled: 50 });
    expect(a.level).toBe('significant');
    const oov = a.measurements.find((m) => m.feature === 'oov_rate' && m.test === 'ks');
    expect(oov?.level).toBe('significant');
    expect(oov?.effectSize).toBeGreaterThan(0.9);
    expect(a.measurements.find((m) => m.feature === 'hashed_tokens')?.level).toBe('significant');
  });

  it('raises no significant drift on a stationary stream in at least 95% of 40 runs', () => {
    let significant = 0;
    for (let run = 0; run < 40; run++) {
      const ref = referenceOf(100 + run);
      const win = new CurrentWindow(ref);
      const next = stream(10_000 + run, VOCAB_A);
      for (let i = 0; i < 1000; i++) win.add(next());
      if (analyseWindow(ref, win, { minLabelled: 50 }).level === 'significant') significant++;
    }
    expect(significant / 40).toBeLessThanOrEqual(0.05);
  });

  it('reports concept drift as an accuracy drop once both sides have labels, with the effect size next to the p-value', () => {
    const ref = referenceOf(3);
    Object.assign(ref.outcomes, { n: 400, successes: 360 });
    const win = new CurrentWindow(ref);
    const next = stream(4, VOCAB_A);
    for (let i = 0; i < 400; i++) win.add(next());
    Object.assign(win.outcomes, { n: 400, successes: 300 });
    const a = analyseWindow(ref, win, { minLabelled: 50 });
    const acc = a.measurements.find((m) => m.test === 'accuracy_drop');
    expect(acc).toMatchObject({ feature: 'accuracy', level: 'significant' });
    expect(acc?.effectSize).toBeCloseTo(0.15, 5);
    expect(acc?.pValue).toBeLessThan(0.01);
    expect(a.level).toBe('significant');
  });

  it('does not call a small accuracy dip on a huge sample drift: the effect size decides, not the p-value', () => {
    const ref = referenceOf(5);
    Object.assign(ref.outcomes, { n: 200_000, successes: 180_000 });
    const win = new CurrentWindow(ref);
    const next = stream(6, VOCAB_A);
    for (let i = 0; i < 500; i++) win.add(next());
    Object.assign(win.outcomes, { n: 200_000, successes: 178_000 }); // 1 point lower, p ≪ 0.01
    const acc = analyseWindow(ref, win, { minLabelled: 50 }).measurements.find((m) => m.test === 'accuracy_drop');
    expect(acc?.pValue).toBeLessThan(1e-6);
    expect(acc?.level).toBe('none');
  });
});

/** A training snapshot drawn from the same stream as the traffic (labels as the trainer stores them). */
const snapshotOf = (seed: number, size = 2000, vocab = VOCAB_A) => {
  const next = stream(seed, vocab);
  return snapshotReference(Array.from({ length: size }, () => next()), 32);
};

describe('a reference from the training snapshot', () => {
  it('has text, token and label distributions but no prediction part until the first predictions fill it', () => {
    const ref = snapshotOf(20);
    expect(ref.source).toBe('training_snapshot');
    expect(ref.size).toBe(2000);
    expect([...ref.labels.keys()].sort()).toEqual([...LABELS].sort());
    expect(ref.confidence).toBeUndefined();
    const early = new CurrentWindow(ref);
    const builder = new ReferenceBuilder(100, 32);
    const next = stream(21, VOCAB_A);
    for (let i = 0; i < 100; i++) {
      const o = next();
      builder.add({ ...o, confidence: 0.9 });
      early.add({ ...o, confidence: 0.9 });
    }
    builder.completePredictionPart(ref);
    expect(ref.confidence?.sorted.length).toBe(100);
    // The window that helped build the confidence reference is not compared on confidence …
    const features = (a: ReturnType<typeof analyseWindow>) => a.measurements.map((m) => m.feature);
    expect(features(analyseWindow(ref, early, { minLabelled: 50 }))).not.toContain('confidence');
    // … the next one is, and a collapse of confidence is drift.
    const later = new CurrentWindow(ref);
    for (let i = 0; i < 200; i++) later.add({ ...next(), confidence: 0.4 });
    const a = analyseWindow(ref, later, { minLabelled: 50 });
    expect(a.measurements.find((m) => m.feature === 'confidence' && m.test === 'ks')?.level).toBe('significant');
  });

  it('raises no significant drift on windows of 200 drawn from the snapshot distribution in at least 95% of 40 runs', () => {
    let significant = 0;
    for (let run = 0; run < 40; run++) {
      const ref = snapshotOf(300 + run);
      const win = new CurrentWindow(ref);
      const next = stream(20_000 + run, VOCAB_A);
      for (let i = 0; i < 200; i++) win.add(next());
      if (analyseWindow(ref, win, { minLabelled: 50 }).level === 'significant') significant++;
    }
    expect(significant / 40).toBeLessThanOrEqual(0.05);
  });

  it('detects a vocabulary shift within one window of 200 events', () => {
    const ref = snapshotOf(30);
    const win = new CurrentWindow(ref);
    const next = stream(31, VOCAB_B);
    for (let i = 0; i < 200; i++) win.add(next());
    const a = analyseWindow(ref, win, { minLabelled: 50 });
    expect(a.level).toBe('significant');
    expect(a.measurements.find((m) => m.feature === 'oov_rate' && m.test === 'ks')?.effectSize).toBeGreaterThan(0.9);
  });

  it('compares predicted labels with the first predictions, not with the training label mix (which trainers rebalance on purpose)', () => {
    const ref = snapshotOf(40); // training labels uniform over 3
    const skewed = (o: Observation, rng: () => number): Observation => ({ ...o, label: rng() < 0.7 ? 'billing' : o.label });
    const rng = mulberry32(42);
    const next = stream(41, VOCAB_A);
    const builder = new ReferenceBuilder(400, 32);
    for (let i = 0; i < 400; i++) builder.add(skewed(next(), rng));
    builder.completePredictionPart(ref);
    const same = new CurrentWindow(ref);
    for (let i = 0; i < 200; i++) same.add(skewed(next(), rng));
    const chi = (w: CurrentWindow) => analyseWindow(ref, w, { minLabelled: 50 }).measurements.find((m) => m.feature === 'predicted_label' && m.test === 'chi_square');
    expect(chi(same)?.level).toBe('none'); // far from the training mix, but that is the traffic's mix
    const shifted = new CurrentWindow(ref);
    for (let i = 0; i < 200; i++) shifted.add({ ...next(), label: 'refund' });
    expect(chi(shifted)?.level).toBe('significant');
  });
});

const CALIBRATION = { familyAlpha: 0.05 };

describe('text drift with thresholds calibrated on the reference', () => {
  it('caches the thresholds with the reference, one calibration per window size', async () => {
    const { textThresholds } = await import('./textReference.js');
    const ref = referenceOf(50);
    const t = textThresholds(ref, 400, CALIBRATION);
    expect(t?.['text_embedding/mmd'].value).toBeGreaterThan(0);
    expect(textThresholds(ref, 420, CALIBRATION)).toBe(t); // same rounded size: no second calibration
    expect(ref.thresholds.size).toBe(1);
  });

  it('raises no significant drift on a stationary stream in at least 95% of 20 runs', () => {
    let significant = 0;
    for (let run = 0; run < 20; run++) {
      const ref = referenceOf(500 + run);
      const win = new CurrentWindow(ref);
      const next = stream(50_000 + run, VOCAB_A);
      for (let i = 0; i < 500; i++) win.add(next());
      if (analyseWindow(ref, win, { minLabelled: 50, calibration: CALIBRATION }).level === 'significant') significant++;
    }
    expect(significant / 20).toBeLessThanOrEqual(0.05);
  });

  it('sees a new topic at 25 % of the texts through the MMD of hashed n-grams', () => {
    const ref = referenceOf(60);
    const win = new CurrentWindow(ref);
    const known = stream(61, VOCAB_A);
    const fresh = stream(62, VOCAB_B);
    const rng = mulberry32(63);
    for (let i = 0; i < 500; i++) win.add(rng() < 0.25 ? fresh() : known());
    const a = analyseWindow(ref, win, { minLabelled: 50, calibration: CALIBRATION });
    const mmd = a.measurements.find((m) => m.feature === 'text_embedding');
    expect(mmd).toMatchObject({ test: 'mmd', level: 'significant' });
    expect(mmd?.pValue).toBeLessThan(0.01);
  });
});

describe('accuracy before labels (CBPE)', () => {
  const withConfidence = (seed: number, confidence: () => number) => {
    const next = stream(seed, VOCAB_A);
    return (): Observation => ({ ...next(), confidence: confidence() });
  };

  it('reports the estimated accuracy with its interval and acts on it while labels are too few', () => {
    const ref = referenceOf(70); // confidences uniform on [0.5, 1): estimated accuracy 0.75
    const win = new CurrentWindow(ref);
    const rng = mulberry32(71);
    const next = withConfidence(72, () => 0.4 + 0.2 * rng()); // estimated accuracy 0.5
    for (let i = 0; i < 400; i++) win.add(next());
    Object.assign(win.outcomes, { n: 10, successes: 6 });
    const a = analyseWindow(ref, win, { minLabelled: 50 });
    expect(a.accuracy).toMatchObject({ basis: 'estimated', realised: 0.6, labelled: 10 });
    expect(a.accuracy?.estimated).toBeCloseTo(0.5, 1);
    expect(a.accuracy!.estimatedLower).toBeLessThan(a.accuracy!.estimated);
    expect(a.accuracy!.estimatedUpper).toBeGreaterThan(a.accuracy!.estimated);
    expect(a.measurements.find((m) => m.test === 'accuracy_drop')).toMatchObject({ feature: 'accuracy', level: 'significant' });
    expect(a.reasons.find((r) => r.startsWith('accuracy/'))).toMatch(/basis: estimated/);
  });

  it('switches to the realised accuracy once both sides have enough labels', () => {
    const ref = referenceOf(80);
    Object.assign(ref.outcomes, { n: 400, successes: 300 });
    const win = new CurrentWindow(ref);
    const rng = mulberry32(81);
    const next = withConfidence(82, () => 0.4 + 0.2 * rng()); // the estimate would say a 25-point drop …
    for (let i = 0; i < 400; i++) win.add(next());
    Object.assign(win.outcomes, { n: 400, successes: 300 }); // … the labels say none
    const a = analyseWindow(ref, win, { minLabelled: 50 });
    expect(a.accuracy).toMatchObject({ basis: 'realised', realised: 0.75 });
    expect(a.measurements.find((m) => m.test === 'accuracy_drop')?.level).toBe('none');
  });
});
