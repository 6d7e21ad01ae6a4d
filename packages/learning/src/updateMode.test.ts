import { describe, expect, it } from 'vitest';
import { exportAdapter } from './adapter.js';
import { exportBaseOnnx } from './onnx/exportBase.js';
import { resolveOptions } from './options.js';
import { createOnnxBase } from './serving.js';
import { syntheticExamples, tinyOptions } from './testing/synthetic.js';
import { createTfClassifier } from './tfClassifier.js';
import { continueTraining, trainBase } from './train.js';
import { mergedForFullMode, updateMode } from './updateMode.js';

const labels = ['alpha', 'beta', 'gamma'];
const sameLabels = { mode: 'lora' as const, embeddingDelta: { maxRows: 300 } };

describe('choosing how an update trains', () => {
  it('keeps the configured mode when labels are added, and trains sameLabels when none is', () => {
    const opts = resolveOptions({ mode: 'full', sameLabels });
    const adding = updateMode(opts, ['delta']);
    expect(adding.opts.mode).toBe('full');
    expect(adding.reason).toMatch(/^new base \(full mode\): the update adds 1 label \(delta\)/);
    const none = updateMode(opts, []);
    expect(none.opts).toMatchObject({ mode: 'lora', embeddingDelta: { maxRows: 300 } });
    expect(none.reason).toBe("adapter on the champion's base (LoRA + up to 300 embedding rows): the update adds no label");
    const plain = updateMode(resolveOptions({ mode: 'full' }), []);
    expect(plain.opts.mode).toBe('full');
    expect(plain.reason).toBe('new base (full mode): the configured mode');
  });

  it('an update without new labels ships an adapter on the champion base; one with new labels a new base; a full update after a LoRA one starts from what it computed', async () => {
    const boot = await trainBase(syntheticExamples(labels, 60, 1), { ...tinyOptions, strategy: { replay: { capacity: 300, ratio: 0.5 } } });
    const opts = { ...tinyOptions, mode: 'full' as const, sameLabels, strategy: { replay: { capacity: 300, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 } } };
    const drift = await continueTraining({ base: boot.state, current: boot.state }, syntheticExamples(labels, 40, 2, 3), opts);
    expect(drift.mode).toBe('lora');
    expect(drift.state.baseVersion, 'the base is shared').toBe(boot.state.baseVersion);
    expect(drift.state.base.embedding).toBe(boot.state.base.embedding);
    expect(drift.state.adapter.embeddingDelta?.rows.length).toBeGreaterThan(0);
    expect(drift.modeReason).toMatch(/adds no label/);

    const merged = mergedForFullMode(drift.state);
    expect(merged.adapter.mode).toBe('full');
    expect(merged.adapter.embeddingDelta).toBeUndefined();
    const texts = syntheticExamples(labels, 10, 9, 3).map((e) => e.text);
    const [a, b] = [createTfClassifier(drift.state), createTfClassifier(merged)];
    try {
      const [la, lb] = [a.logits(texts), b.logits(texts)];
      for (let i = 0; i < la.length; i++) expect(lb[i]).toBeCloseTo(la[i] as number, 4);
    } finally {
      a.dispose();
      b.dispose();
    }

    // At learning rate 0 a full update computes exactly what it started from: the LoRA version's outputs.
    const frozen = await continueTraining({ base: drift.state, current: drift.state }, syntheticExamples(['delta'], 40, 3), { ...opts, learningRate: { continued: 0 }, embeddingLearningRate: 0 });
    expect(frozen.mode).toBe('full');
    const [c, d] = [createTfClassifier(drift.state), createTfClassifier(frozen.state)];
    try {
      const [lc, ld] = [c.logits(texts), d.logits(texts)];
      for (let r = 0; r < texts.length; r++) for (let k = 0; k < labels.length; k++) expect(ld[r * 4 + k]).toBeCloseTo(lc[r * 3 + k] as number, 4);
    } finally {
      c.dispose();
      d.dispose();
    }

    const grow = await continueTraining({ base: drift.state, current: drift.state }, syntheticExamples(['delta'], 40, 3), opts);
    expect(grow.mode).toBe('full');
    expect(grow.state.baseVersion).not.toBe(boot.state.baseVersion);
    expect(grow.modeReason).toMatch(/adds 1 label \(delta\)/);
    // Started from the merged version: before training the old classes were right, and they still are.
    const old = syntheticExamples(labels, 20, 11, 3);
    const clf = createTfClassifier(grow.state);
    try {
      const right = clf.predict(old.map((e) => e.text)).filter((p, i) => p.label === old[i]?.label).length;
      expect(right / old.length).toBeGreaterThan(0.8);
    } finally {
      clf.dispose();
    }

    // The production sequence: a new base, then an adapter on it, served by onnxruntime on that base.
    const after = await continueTraining({ base: grow.state, current: grow.state }, syntheticExamples([...labels, 'delta'], 30, 4, 5), opts);
    expect(after.mode).toBe('lora');
    expect(after.state.baseVersion).toBe(grow.state.baseVersion);
    const served = await createOnnxBase(exportBaseOnnx(grow.state));
    try {
      const adapter = exportAdapter(after.state, { version: 'm@1.3.1' });
      const onnx = served.createClassifier(adapter.bytes, JSON.parse(JSON.stringify(adapter.manifest)));
      const probe = syntheticExamples([...labels, 'delta'], 4, 12, 5).map((e) => e.text);
      const raw = await onnx.predictRaw(probe);
      const tf = createTfClassifier(after.state);
      const expected = tf.probabilities(probe);
      tf.dispose();
      for (let i = 0; i < expected.length; i++) expect(raw.probabilities[i]).toBeCloseTo(expected[i] as number, 4);
    } finally {
      await served.release();
    }
  });
});
