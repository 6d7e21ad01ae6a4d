import * as tf from '@tensorflow/tfjs';
import type { Example } from '../data.js';
import { createFeaturizer } from '../features.js';
import { effectiveEmbedding, embeddingBag, headInputs, padColumns, type RowsOf } from '../model.js';
import { createNetwork } from '../network.js';
import { shuffleInPlace, type Rng } from '../random.js';
import type { FisherState, TrainingState } from '../state.js';

/** Elastic weight consolidation: a diagonal-Fisher pull of the trainable parameters towards their old values. */

/** Fisher and anchors padded to the current label count, with lambda. */
export interface PaddedFisher {
  fisher: Record<string, Float32Array>;
  anchors: Record<string, Float32Array>;
  lambda: number;
}

export function padFisher(fisher: FisherState, labels: readonly string[], H: number, lambda: number): PaddedFisher {
  const oldC = fisher.labels.length;
  const C = labels.length;
  const pad = (name: string, v: Float32Array): Float32Array =>
    name === 'head.kernel' ? padColumns(v, H, oldC, C) : name === 'head.bias' ? padColumns(v, 1, oldC, C) : v;
  const f: Record<string, Float32Array> = {};
  const a: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(fisher.values)) f[name] = pad(name, v);
  for (const [name, v] of Object.entries(fisher.anchors)) a[name] = pad(name, v);
  return { fisher: f, anchors: a, lambda };
}

/**
 * Empirical diagonal Fisher of the trainable parameters (mode of the adapter): mean over
 * `samples` rows of the squared per-row gradient of the log-likelihood of the true label,
 * scaled so that its mean over all parameters is 1.
 */
export function estimateFisher(state: TrainingState, examples: readonly Example[], samples: number, rng: Rng, rowsOf?: RowsOf): FisherState {
  const labelIndex = new Map(state.labels.map((l, i) => [l, i]));
  const pool = examples.filter((e) => labelIndex.has(e.label));
  const chosen = shuffleInPlace([...pool], rng).slice(0, Math.max(1, samples));
  const net = createNetwork(state.model, state.base, state.adapter, state.labels.length, state.adapter.mode);
  const D = state.model.embeddingDim;
  const texts = chosen.map((e) => e.text);
  let h0: Float32Array;
  if (rowsOf !== undefined) h0 = rowsOf(texts);
  else {
    h0 = new Float32Array(chosen.length * D);
    embeddingBag(effectiveEmbedding(state), D, createFeaturizer(state.model.features).featurize(texts), undefined, h0);
  }
  const names = [...net.trainable.keys()];
  const vars = names.map((n) => net.trainable.get(n) as tf.Variable);
  const sums = vars.map((v) => new Float32Array(v.size));
  const C = state.labels.length;
  for (let r = 0; r < chosen.length; r++) {
    const y = labelIndex.get((chosen[r] as Example).label) as number;
    tf.tidy(() => {
      const x = tf.tensor2d(h0.subarray(r * D, (r + 1) * D), [1, D]);
      const target = tf.oneHot(tf.tensor1d([y], 'int32'), C);
      const { grads } = tf.engine().gradients(() => tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(net.forward(x))))) as tf.Scalar, vars, undefined, true);
      grads.forEach((g, i) => {
        const data = g.dataSync();
        const s = sums[i] as Float32Array;
        for (let k = 0; k < s.length; k++) s[k] = (s[k] as number) + (data[k] as number) * (data[k] as number);
      });
    });
  }
  const values: Record<string, Float32Array> = {};
  const anchors: Record<string, Float32Array> = {};
  const snap = net.snapshot();
  // Normalized to mean 1 over all parameters: raw values shrink as the model grows confident,
  // which would make a fixed lambda mean different things from one version to the next.
  let total = 0;
  let count = 0;
  for (const s of sums) {
    for (let k = 0; k < s.length; k++) total += s[k] as number;
    count += s.length;
  }
  const norm = total > 0 ? count / total : 0;
  names.forEach((name, i) => {
    const s = sums[i] as Float32Array;
    for (let k = 0; k < s.length; k++) s[k] = (s[k] as number) * norm;
    values[name] = s;
    anchors[name] = snap.get(name) as Float32Array;
  });
  net.dispose();
  return { labels: [...state.labels], values, anchors };
}

/** Fisher and anchor of one trainable parameter, padded to its current shape. */
export interface EwcTerm {
  value: tf.Tensor;
  fisher: tf.Tensor;
  anchor: tf.Tensor;
}

/**
 * The EWC penalty (lambda/2)·Σ F·(θ−θ*)²: the one implementation, used inside the training loss
 * (with gradients) and by ewcPenalty (diagnostics, tests).
 */
export function ewcPenaltyTensor(terms: readonly EwcTerm[], lambda: number): tf.Scalar {
  let penalty: tf.Tensor = tf.scalar(0);
  for (const { value, fisher, anchor } of terms) penalty = tf.add(penalty, tf.sum(tf.mul(fisher, tf.square(tf.sub(value, anchor)))));
  return tf.mul(penalty, lambda / 2);
}

/** Fisher/anchor tensors of the parameters present in `values` with matching sizes (caller disposes fisher/anchor). */
export function ewcTerms(values: ReadonlyMap<string, tf.Tensor>, padded: PaddedFisher): EwcTerm[] {
  const terms: EwcTerm[] = [];
  for (const [name, value] of values) {
    const f = padded.fisher[name];
    const a = padded.anchors[name];
    if (f !== undefined && a !== undefined && f.length === value.size) terms.push({ value, fisher: tf.tensor(f, value.shape), anchor: tf.tensor(a, value.shape) });
  }
  return terms;
}

/** Σ F·(θ−θ*)² · lambda/2 of the state's trainable parameters against a Fisher (diagnostics, tests). */
export function ewcPenalty(state: TrainingState, fisher: FisherState, lambda = 1): number {
  const padded = padFisher(fisher, state.labels, headInputs(state.model), lambda);
  return tf.tidy(() => {
    const current = new Map<string, tf.Tensor>([
      ['head.kernel', tf.tensor(state.adapter.head.kernel)],
      ['head.bias', tf.tensor(state.adapter.head.bias)],
    ]);
    for (const [name, l] of Object.entries(state.adapter.layers)) {
      current.set(`${name}.lora_a`, tf.tensor(l.a));
      current.set(`${name}.lora_b`, tf.tensor(l.b));
    }
    state.base.dense.forEach((d, i) => {
      current.set(`dense${i}.kernel`, tf.tensor(d.kernel));
      current.set(`dense${i}.bias`, tf.tensor(d.bias));
    });
    return ewcPenaltyTensor(ewcTerms(current, padded), lambda).dataSync()[0] as number;
  });
}
