import { describe, expect, it } from 'vitest';
import { exportAdapter } from './adapter.js';
import { LearningError } from './errors.js';
import { createTfClassifier } from './tfClassifier.js';
import { exportBaseOnnx } from './onnx/exportBase.js';
import { createOnnxBase } from './serving.js';
import { syntheticExamples, tinyOptions } from './testing/synthetic.js';
import { continueTraining, trainBase } from './train.js';

describe('ONNX export and serving', async () => {
  const base = await trainBase(syntheticExamples(['alpha', 'beta', 'gamma'], 30, 1), tinyOptions);
  const adapted = await continueTraining({ base: base.state, current: base.state }, syntheticExamples(['delta', 'alpha'], 30, 2), {
    ...tinyOptions,
    epochs: 20,
    learningRate: { continued: 3e-2 },
  });
  // Make the LoRA delta clearly non-zero so the parity check covers the merge.
  const lora = adapted.state.adapter.layers.dense0!;
  expect(lora.b.some((x) => x !== 0)).toBe(true);
  const onnx = exportBaseOnnx(base.state);
  const texts = [...syntheticExamples(['alpha', 'delta'], 5, 50).map((e) => e.text), 'Crème brûlée unknown words', ''];

  it('onnxruntime and TensorFlow.js give the same probabilities for the same weights', async () => {
    const served = await createOnnxBase(onnx);
    expect(served.baseVersion).toBe(base.state.baseVersion);
    for (const state of [base.state, adapted.state]) {
      const adapter = exportAdapter(state, { version: 'm@1.0.0' });
      const clf = served.createClassifier(adapter.bytes, adapter.manifest);
      const raw = await clf.predictRaw(texts);
      const tf = createTfClassifier(state);
      const expected = tf.probabilities(texts);
      tf.dispose();
      let maxDiff = 0;
      for (let i = 0; i < expected.length; i++) maxDiff = Math.max(maxDiff, Math.abs((expected[i] as number) - (raw.probabilities[i] as number)));
      expect(raw.probabilities).toHaveLength(expected.length);
      expect(maxDiff).toBeLessThan(1e-4);
    }
    await served.release();
  });

  it('swaps adapters on one base without re-exporting it and returns label, confidence, probabilities', async () => {
    const served = await createOnnxBase(onnx, { intraOpThreads: 1 });
    const v1 = exportAdapter(base.state, { version: 'm@1.0.0' });
    const v2 = exportAdapter(adapted.state, { version: 'm@1.1.0', metrics: { accuracy: 0.9 } });
    const c1 = served.createClassifier(v1.bytes, v1.manifest);
    const c2 = served.createClassifier(v2.bytes, JSON.parse(JSON.stringify(v2.manifest)));
    const [p1] = await c1.predict(['deltax1 deltax2 deltax3']);
    const [p2] = await c2.predict(['deltax1 deltax2 deltax3']);
    expect(Object.keys(p1!.probabilities)).toEqual(['alpha', 'beta', 'gamma']);
    expect(p2!.label).toBe('delta');
    expect(p2!.confidence).toBeGreaterThan(0.5);
    const sum = Object.values(p2!.probabilities).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
    expect(v2.manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    await served.release();
  });

  it('rejects corrupted adapters and adapters of another base', async () => {
    const served = await createOnnxBase(onnx);
    const v2 = exportAdapter(adapted.state, { version: 'm@1.1.0' });
    const corrupted = v2.bytes.slice();
    corrupted[0] = (corrupted[0]! + 1) % 256;
    expect(() => served.createClassifier(corrupted, v2.manifest)).toThrow(LearningError);
    expect(() => served.createClassifier(v2.bytes, { ...v2.manifest, baseVersion: 'other' })).toThrow(/base/);
    expect(() => served.createClassifier(v2.bytes, { nope: true })).toThrow(/manifest/);
    await served.release();
  });
});
