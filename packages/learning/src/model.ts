import * as tf from '@tensorflow/tfjs';
import { createFeaturizer, type FeatureBatch } from './features.js';
import type { Rng } from './random.js';
import type { AdapterWeights, BaseWeights, DenseWeights, LoraConfig, ModelConfig, TrainingState } from './state.js';

/** Label, its probability, and every label's probability. */
export interface Prediction {
  label: string;
  confidence: number;
  probabilities: Record<string, number>;
}

/** Hidden width feeding the head. */
export const headInputs = (model: ModelConfig): number => model.hiddenUnits[model.hiddenUnits.length - 1] ?? model.embeddingDim;

/** Glorot-uniform kernel [inputs, units]. */
export function glorot(inputs: number, units: number, rng: Rng): Float32Array {
  const limit = Math.sqrt(6 / (inputs + units));
  const out = new Float32Array(inputs * units);
  for (let i = 0; i < out.length; i++) out[i] = (rng.next() * 2 - 1) * limit;
  return out;
}

/**
 * Fresh base weights: embedding uniform ±1.5, glorot dense. The large init keeps n-grams the base
 * never trained on (vocabulary of labels added later) a strong random-projection signal through
 * the frozen base: on flipkart class-incremental it lifts the adapter-only ceiling from 75% to 87%.
 */
export function initBase(model: ModelConfig, rng: Rng): BaseWeights {
  const { buckets } = model.features;
  const embedding = new Float32Array(buckets * model.embeddingDim);
  for (let i = 0; i < embedding.length; i++) embedding[i] = (rng.next() * 2 - 1) * 1.5;
  const dense: DenseWeights[] = [];
  let inputs = model.embeddingDim;
  for (const units of model.hiddenUnits) {
    dense.push({ inputs, units, kernel: glorot(inputs, units, rng), bias: new Float32Array(units) });
    inputs = units;
  }
  return { embedding, dense };
}

/** Fresh LoRA pair: A uniform ±1/sqrt(inputs), B zero, so ΔW starts at 0. */
export function initLora(layer: DenseWeights, rank: number, rng: Rng): { a: Float32Array; b: Float32Array } {
  const a = new Float32Array(layer.inputs * rank);
  const limit = 1 / Math.sqrt(layer.inputs);
  for (let i = 0; i < a.length; i++) a[i] = (rng.next() * 2 - 1) * limit;
  return { a, b: new Float32Array(rank * layer.units) };
}

/** Fresh adapter over a base: LoRA on the targets, glorot head. */
export function initAdapter(model: ModelConfig, base: BaseWeights, lora: LoraConfig, labels: number, mode: 'lora' | 'full', rng: Rng): AdapterWeights {
  const layers: AdapterWeights['layers'] = {};
  if (mode === 'lora') {
    for (const target of lora.targets) {
      const layer = base.dense[denseIndex(target)];
      if (layer === undefined) throw new RangeError(`LoRA target "${target}" does not exist; the base has dense0..dense${base.dense.length - 1}`);
      layers[target] = initLora(layer, lora.rank, rng);
    }
  }
  const h = headInputs(model);
  return { mode, lora: { ...lora, targets: [...lora.targets] }, layers, head: { kernel: glorot(h, labels, rng), bias: new Float32Array(labels) } };
}

export function denseIndex(name: string): number {
  const m = /^dense(\d+)$/.exec(name);
  return m === null ? -1 : Number(m[1]);
}

/** Head grown to `labels` columns: old columns keep their weights, new ones start small. */
export function growHead(head: AdapterWeights['head'], inputs: number, oldLabels: number, labels: number, rng: Rng): AdapterWeights['head'] {
  if (labels === oldLabels) return { kernel: head.kernel.slice(), bias: head.bias.slice() };
  const kernel = new Float32Array(inputs * labels);
  for (let i = 0; i < inputs; i++) {
    for (let c = 0; c < labels; c++) kernel[i * labels + c] = c < oldLabels ? (head.kernel[i * oldLabels + c] as number) : rng.normal() * 0.01;
  }
  const bias = new Float32Array(labels);
  bias.set(head.bias.subarray(0, oldLabels));
  // New classes start at the mean old bias so they are neither favoured nor suppressed.
  let mean = 0;
  for (let c = 0; c < oldLabels; c++) mean += head.bias[c] as number;
  bias.fill(oldLabels > 0 ? mean / oldLabels : 0, oldLabels);
  return { kernel, bias };
}

/** Pads a [rows, oldCols] row-major matrix to [rows, cols] with zeros. */
export function padColumns(m: Float32Array, rows: number, oldCols: number, cols: number): Float32Array {
  if (oldCols === cols) return m.slice();
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * oldCols, r * oldCols + oldCols), r * cols);
  return out;
}

/**
 * Embedding bag in JS: out[r] = Σ_j weights[r,j] · E[indices[r,j]] (sparse, skips padding).
 * `out` is [rows, dim].
 */
export function embeddingBag(embedding: Float32Array, dim: number, batch: FeatureBatch, rows: readonly number[] | undefined, out: Float32Array): void {
  const L = batch.maxFeatures;
  const n = rows?.length ?? batch.rows;
  out.fill(0, 0, n * dim);
  for (let k = 0; k < n; k++) {
    const r = rows === undefined ? k : (rows[k] as number);
    const count = batch.counts[r] as number;
    const o = k * dim;
    for (let j = 0; j < count; j++) {
      const w = batch.weights[r * L + j] as number;
      const e = (batch.indices[r * L + j] as number) * dim;
      for (let d = 0; d < dim; d++) out[o + d] = (out[o + d] as number) + w * (embedding[e + d] as number);
    }
  }
}

/** Merged kernel W + (alpha/rank)·A·B, [inputs, units]. */
export function mergeLora(layer: DenseWeights, lora: { a: Float32Array; b: Float32Array }, rank: number, alpha: number): Float32Array {
  const w = layer.kernel.slice();
  const scale = alpha / rank;
  const { inputs, units } = layer;
  for (let i = 0; i < inputs; i++) {
    for (let k = 0; k < rank; k++) {
      const aik = (lora.a[i * rank + k] as number) * scale;
      if (aik === 0) continue;
      const row = i * units;
      const brow = k * units;
      for (let j = 0; j < units; j++) w[row + j] = (w[row + j] as number) + aik * (lora.b[brow + j] as number);
    }
  }
  return w;
}

/** TensorFlow.js inference over a training state (evaluation, parity with ONNX). */
export interface TfClassifier {
  readonly labels: readonly string[];
  /** probabilities [texts.length * labels.length] row-major */
  probabilities(texts: readonly string[]): Float32Array;
  predict(texts: readonly string[]): Prediction[];
  dispose(): void;
}

/** Builds a tfjs graph for the state: gather-based embedding bag, LoRA applied unmerged. */
export function createTfClassifier(state: TrainingState, options: { batchSize?: number } = {}): TfClassifier {
  const featurizer = createFeaturizer(state.model.features);
  const { embeddingDim: dim } = state.model;
  const labels = [...state.labels];
  const C = labels.length;
  const embedding = tf.tensor2d(state.base.embedding, [state.model.features.buckets, dim]);
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

  const probabilities = (texts: readonly string[]): Float32Array => {
    const out = new Float32Array(texts.length * C);
    for (let start = 0; start < texts.length; start += batchSize) {
      const chunk = texts.slice(start, start + batchSize);
      const f = featurizer.featurize(chunk);
      const probs = tf.tidy(() => {
        const idx = tf.tensor2d(f.indices, [chunk.length, f.maxFeatures], 'int32');
        const w = tf.tensor3d(f.weights, [chunk.length, f.maxFeatures, 1]);
        let h: tf.Tensor2D = tf.sum(tf.mul(tf.gather(embedding, idx), w), 1);
        for (const layer of dense) {
          let z = tf.add(tf.matMul(h, layer.kernel), layer.bias);
          if (layer.a !== undefined && layer.b !== undefined) z = tf.add(z, tf.mul(tf.matMul(tf.matMul(h, layer.a), layer.b), scale));
          h = tf.relu(z) as tf.Tensor2D;
        }
        return tf.softmax(tf.add(tf.matMul(h, headKernel), headBias));
      });
      out.set(probs.dataSync(), start * C);
      probs.dispose();
    }
    return out;
  };

  return {
    labels,
    probabilities,
    predict(texts) {
      const p = probabilities(texts);
      return texts.map((_, r) => toPrediction(p, r, labels));
    },
    dispose() {
      tf.dispose([embedding, headKernel, headBias, ...dense.flatMap((d) => [d.kernel, d.bias, ...(d.a ? [d.a] : []), ...(d.b ? [d.b] : [])])]);
    },
  };
}

export function argmaxRow(p: ArrayLike<number>, r: number, C: number): number {
  let best = 0;
  let bestP = -Infinity;
  for (let c = 0; c < C; c++) {
    const v = p[r * C + c] as number;
    if (v > bestP) {
      bestP = v;
      best = c;
    }
  }
  return best;
}

export function toPrediction(p: ArrayLike<number>, r: number, labels: readonly string[]): Prediction {
  const C = labels.length;
  const best = argmaxRow(p, r, C);
  const probabilities: Record<string, number> = {};
  for (let c = 0; c < C; c++) probabilities[labels[c] as string] = p[r * C + c] as number;
  return { label: labels[best] as string, confidence: p[r * C + best] as number, probabilities };
}
