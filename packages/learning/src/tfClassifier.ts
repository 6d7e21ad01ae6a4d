import * as tf from '@tensorflow/tfjs';
import { createFeaturizer, type FeatureBatch } from './features.js';
import { effectiveEmbedding, embeddingBag, headInputs, toPrediction, type Prediction, type RowsOf } from './model.js';
import type { TrainingState } from './state.js';

/** TensorFlow.js inference over a training state (evaluation, parity with ONNX). */
export interface TfClassifier {
  readonly labels: readonly string[];
  /** probabilities [texts.length * labels.length] row-major */
  probabilities(texts: readonly string[]): Float32Array;
  /** raw logits [texts.length * labels.length], before the temperature (calibration fitting) */
  logits(texts: readonly string[]): Float32Array;
  predict(texts: readonly string[]): Prediction[];
  dispose(): void;
}

/** Builds a tfjs graph for the state: sparse embedding bag in JS, dense layers in tfjs, LoRA applied unmerged. */
export function createTfClassifier(state: TrainingState, options: { batchSize?: number; temperature?: number; rowsOf?: RowsOf } = {}): TfClassifier {
  const featurizer = createFeaturizer(state.model.features);
  const { embeddingDim: dim } = state.model;
  const labels = [...state.labels];
  const C = labels.length;
  // The bag is computed sparsely in JS (a tf.gather would materialise [rows, features, dim]).
  const embedding = effectiveEmbedding(state);
  const dense = state.base.dense.map((layer, i) => {
    const lora = state.adapter.mode === 'lora' ? state.adapter.layers[`dense${i}`] : undefined;
    return {
      kernel: tf.tensor2d(layer.kernel, [layer.inputs, layer.units]),
      bias: tf.tensor1d(layer.bias),
      a: lora === undefined ? undefined : tf.tensor2d(lora.a, [layer.inputs, state.adapter.lora.rank]),
      b: lora === undefined ? undefined : tf.tensor2d(lora.b, [state.adapter.lora.rank, layer.units]),
    };
  });
  const scale = state.adapter.lora.alpha / state.adapter.lora.rank;
  const H = headInputs(state.model);
  const headKernel = tf.tensor2d(state.adapter.head.kernel, [H, C]);
  const headBias = tf.tensor1d(state.adapter.head.bias);
  const batchSize = options.batchSize ?? 256;
  // Calibrated confidence: softmax(logits / T), T fitted at training time (1 = raw softmax).
  const invT = 1 / (options.temperature ?? state.temperature ?? 1);

  const h0 = new Float32Array(batchSize * dim);
  let batch: FeatureBatch | undefined;
  const run = (texts: readonly string[], softmax: boolean): Float32Array => {
    const out = new Float32Array(texts.length * C);
    for (let start = 0; start < texts.length; start += batchSize) {
      const chunk = texts.slice(start, start + batchSize);
      if (options.rowsOf !== undefined) h0.set(options.rowsOf(chunk));
      else {
        const f = featurizer.featurize(chunk, batch);
        batch = f;
        embeddingBag(embedding, dim, f, undefined, h0);
      }
      const probs = tf.tidy(() => {
        let h: tf.Tensor2D = tf.tensor2d(h0.subarray(0, chunk.length * dim), [chunk.length, dim]);
        for (const layer of dense) {
          let z = tf.add(tf.matMul(h, layer.kernel), layer.bias);
          if (layer.a !== undefined && layer.b !== undefined) z = tf.add(z, tf.mul(tf.matMul(tf.matMul(h, layer.a), layer.b), scale));
          h = tf.relu(z) as tf.Tensor2D;
        }
        const logits = tf.add(tf.matMul(h, headKernel), headBias);
        return softmax ? tf.softmax(tf.mul(logits, invT)) : logits;
      });
      out.set(probs.dataSync(), start * C);
      probs.dispose();
    }
    return out;
  };

  const probabilities = (texts: readonly string[]): Float32Array => run(texts, true);
  return {
    labels,
    probabilities,
    logits: (texts) => run(texts, false),
    predict(texts) {
      const p = probabilities(texts);
      return texts.map((_, r) => toPrediction(p, r, labels));
    },
    dispose() {
      tf.dispose([headKernel, headBias, ...dense.flatMap((d) => [d.kernel, d.bias, ...(d.a ? [d.a] : []), ...(d.b ? [d.b] : [])])]);
    },
  };
}

