import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { createDenseTrainer, type LossGradient } from './denseTrainer.js';
import { initAdapter, initBase } from './model.js';
import { createNetwork, type TrainMode } from './network.js';
import { DEFAULT_FEATURE_CONFIG } from './features.js';
import { createRng } from './random.js';
import type { ModelConfig } from './state.js';

// The hand-written backward must match tfjs autodiff + tfjs Adam: same loss, same parameters after
// a few steps, same input gradient (the embedding table trains on it).

const model: ModelConfig = { features: { ...DEFAULT_FEATURE_CONFIG, buckets: 8 }, embeddingDim: 12, hiddenUnits: [10, 9] };
const C = 5;
const n = 7;

/** mean cross-entropy, as tensors (reference) and as a LossGradient (under test) */
function crossEntropy(y: Int32Array): { tensor: (logits: tf.Tensor2D) => tf.Scalar; gradient: LossGradient } {
  return {
    tensor: (logits) => tf.div(tf.neg(tf.sum(tf.mul(tf.oneHot(tf.tensor1d(y, 'int32'), C), tf.logSoftmax(logits)))), n) as tf.Scalar,
    gradient: (z, rows, dl) => {
      let loss = 0;
      for (let r = 0; r < rows; r++) {
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, z[r * C + c] as number);
        let s = 0;
        for (let c = 0; c < C; c++) s += Math.exp((z[r * C + c] as number) - max);
        for (let c = 0; c < C; c++) dl[r * C + c] = Math.exp((z[r * C + c] as number) - max) / s / rows;
        dl[r * C + (y[r] as number)] = (dl[r * C + (y[r] as number)] as number) - 1 / rows;
        loss += (max + Math.log(s) - (z[r * C + (y[r] as number)] as number)) / rows;
      }
      return loss;
    },
  };
}

describe('createDenseTrainer', () => {
  beforeAll(async () => {
    await initBackend({ preferred: ['wasm', 'cpu'] });
  });

  for (const mode of ['full', 'lora'] as TrainMode[]) {
    it(`matches tfjs autodiff and Adam (${mode} mode${mode === 'lora' ? ', dropout masks' : ''}, input gradient, EWC)`, () => {
      const rng = createRng(3);
      const base = initBase(model, rng);
      const adapter = initAdapter(model, base, { rank: 3, alpha: 6, dropout: 0.2, targets: ['dense0', 'dense1'] }, C, 'lora', rng);
      // LoRA B starts at zero: give it values so every gradient path is exercised.
      for (const l of Object.values(adapter.layers)) for (let i = 0; i < l.b.length; i++) l.b[i] = rng.normal() * 0.3;
      const x = Float32Array.from({ length: n * model.embeddingDim }, () => rng.normal());
      const y = Int32Array.from({ length: n }, () => rng.int(C));
      // LoRA-dropout masks of dense0 (12 inputs) and dense1 (10 inputs)
      const masks = mode === 'lora' ? [12, 10].map((cols) => Float32Array.from({ length: n * cols }, () => (rng.next() < 0.2 ? 0 : 1.25))) : undefined;
      const ce = crossEntropy(y);
      const reference = createNetwork(model, base, adapter, C, mode);
      const names = [...reference.trainable.keys()];
      const fisher = Object.fromEntries(names.map((name) => [name, Float32Array.from({ length: (reference.trainable.get(name) as tf.Variable).size }, () => rng.next())]));
      const anchors = Object.fromEntries(names.map((name) => [name, Float32Array.from({ length: (reference.trainable.get(name) as tf.Variable).size }, () => rng.normal() * 0.1)]));
      const lambda = 0.7;
      const trainer = createDenseTrainer(model, base, adapter, C, mode, { learningRate: 0.01 }, { fisher, anchors, lambda });
      expect([...trainer.names].sort()).toEqual([...names].sort());

      const optimizer = tf.train.adam(0.01);
      const vars = names.map((name) => reference.trainable.get(name) as tf.Variable);
      const h0 = tf.tensor2d(x, [n, model.embeddingDim]);
      const maskTensors = masks?.map((m, i) => tf.tensor2d(m, [n, i === 0 ? 12 : 10]));
      const inputGradient = new Float32Array(n * model.embeddingDim);
      for (let step = 0; step < 3; step++) {
        const expected = tf.tidy(() => {
          const { value, grads } = tf.engine().gradients(
            () => {
              let loss: tf.Tensor = ce.tensor(reference.forward(h0, maskTensors));
              for (const [i, v] of vars.entries()) {
                const name = names[i] as string;
                const penalty = tf.sum(tf.mul(tf.tensor(fisher[name] as Float32Array, v.shape), tf.square(tf.sub(v, tf.tensor(anchors[name] as Float32Array, v.shape)))));
                loss = tf.add(loss, tf.mul(penalty, lambda / 2));
              }
              return loss as tf.Scalar;
            },
            [...vars, h0],
            undefined,
            true,
          );
          const dx = (grads[vars.length] as tf.Tensor).dataSync().slice();
          optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })));
          return { loss: value.dataSync()[0] as number, dx };
        });
        const loss = trainer.step({ h0: x, n, lossGradient: ce.gradient, masks, inputGradient });
        expect(loss).toBeCloseTo(expected.loss, 4);
        for (let i = 0; i < inputGradient.length; i++) expect(inputGradient[i]).toBeCloseTo(expected.dx[i] as number, 4);
      }
      const snap = trainer.snapshot();
      for (const [name, v] of reference.trainable) {
        const got = snap.get(name) as Float32Array;
        const want = v.dataSync();
        for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i] as number, 4);
      }
      // Inference logits match the reference network's forward with the same parameters.
      const logits = trainer.logits(x, n);
      const want = tf.tidy(() => reference.forward(h0).dataSync());
      for (let i = 0; i < want.length; i++) expect(logits[i]).toBeCloseTo(want[i] as number, 4);
      trainer.dispose();
      reference.dispose();
      optimizer.dispose();
      tf.dispose([h0, ...(maskTensors ?? [])]);
    });
  }
});
