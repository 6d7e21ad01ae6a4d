import type { FeatureBatch } from './features.js';
import type { Rng } from './random.js';
import type { AdapterWeights, BaseWeights, DenseWeights, EmbeddingDelta, LoraConfig, ModelConfig, TrainingState } from './state.js';

/** h0 of texts from a frozen encoder base: [texts.length, embeddingDim] row-major. */
export type RowsOf = (texts: readonly string[]) => Float32Array;

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
  // an encoder base makes h0 itself: no table
  const buckets = model.base?.kind === 'encoder' ? 0 : model.features.buckets;
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
  const { counts, weights, indices } = batch;
  out.fill(0, 0, n * dim);
  for (let k = 0; k < n; k++) {
    const r = rows === undefined ? k : (rows[k] as number);
    const count = counts[r] as number;
    const o = k * dim;
    const at = r * L;
    // Four features per pass over the output row: a quarter of the loads and stores of `out`
    // (measured 1.6–1.8× faster than one axpy per feature on 90-feature rows).
    let j = 0;
    for (; j + 3 < count; j += 4) {
      const w0 = weights[at + j] as number;
      const w1 = weights[at + j + 1] as number;
      const w2 = weights[at + j + 2] as number;
      const w3 = weights[at + j + 3] as number;
      const e0 = (indices[at + j] as number) * dim;
      const e1 = (indices[at + j + 1] as number) * dim;
      const e2 = (indices[at + j + 2] as number) * dim;
      const e3 = (indices[at + j + 3] as number) * dim;
      for (let d = 0; d < dim; d++) {
        out[o + d] = (out[o + d] as number) + w0 * (embedding[e0 + d] as number) + w1 * (embedding[e1 + d] as number) + w2 * (embedding[e2 + d] as number) + w3 * (embedding[e3 + d] as number);
      }
    }
    for (; j < count; j++) axpy(weights[at + j] as number, embedding, (indices[at + j] as number) * dim, out, o, dim);
  }
}

/** y[yo..yo+n) += a · x[xo..xo+n), unrolled by 4 (the hot loop of the bag and the sparse optimiser: ~30% faster in V8). */
export function axpy(a: number, x: Float32Array, xo: number, y: Float32Array, yo: number, n: number): void {
  let d = 0;
  for (; d + 3 < n; d += 4) {
    y[yo + d] = (y[yo + d] as number) + a * (x[xo + d] as number);
    y[yo + d + 1] = (y[yo + d + 1] as number) + a * (x[xo + d + 1] as number);
    y[yo + d + 2] = (y[yo + d + 2] as number) + a * (x[xo + d + 2] as number);
    y[yo + d + 3] = (y[yo + d + 3] as number) + a * (x[xo + d + 3] as number);
  }
  for (; d < n; d++) y[yo + d] = (y[yo + d] as number) + a * (x[xo + d] as number);
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

/** The embedding table a state computes with: the base's, plus the adapter's sparse rows (a copy then). */
export function effectiveEmbedding(state: Pick<TrainingState, 'base' | 'adapter' | 'model'>): Float32Array {
  const delta = state.adapter.embeddingDelta;
  if (delta === undefined || delta.rows.length === 0) return state.base.embedding;
  // One table per (base, delta): an update asks for its champion's twice (teacher, gate) and its
  // candidate's twice (gate, test), 32 MB each at the default size. Callers only read it, as they
  // read the base table returned above.
  const cached = effectiveTables.get(delta);
  if (cached !== undefined && cached.base === state.base.embedding) return cached.table;
  const out = state.base.embedding.slice();
  addEmbeddingDelta(out, state.model.embeddingDim, delta);
  effectiveTables.set(delta, { base: state.base.embedding, table: out });
  return out;
}
const effectiveTables = new WeakMap<EmbeddingDelta, { base: Float32Array; table: Float32Array }>();

/** Adds a sparse delta into an embedding table in place. */
export function addEmbeddingDelta(embedding: Float32Array, D: number, delta: EmbeddingDelta): void {
  delta.rows.forEach((row, k) => {
    const e = row * D;
    for (let d = 0; d < D; d++) embedding[e + d] = (embedding[e + d] as number) + (delta.values[k * D + d] as number);
  });
}

/**
 * The rows of `trained` that differ from `base`, at most `maxRows` of them (largest change first,
 * by squared L2 norm): what an adapter ships so a frozen base gains the vocabulary it learned.
 */
export function extractEmbeddingDelta(trained: Float32Array, base: Float32Array, D: number, maxRows: number, candidates?: Iterable<number>): EmbeddingDelta {
  const buckets = base.length / D;
  const norms: { row: number; n: number }[] = [];
  // `candidates`: the only rows that can differ (those trained, and an earlier delta's), instead of all.
  for (const r of candidates ?? Array.from({ length: buckets }, (_, i) => i)) {
    let n = 0;
    for (let d = 0; d < D; d++) {
      const x = (trained[r * D + d] as number) - (base[r * D + d] as number);
      n += x * x;
    }
    if (n > 0) norms.push({ row: r, n });
  }
  norms.sort((a, b) => b.n - a.n || a.row - b.row);
  const kept = norms.slice(0, Math.max(0, maxRows)).map((x) => x.row).sort((a, b) => a - b);
  const values = new Float32Array(kept.length * D);
  kept.forEach((row, k) => {
    for (let d = 0; d < D; d++) values[k * D + d] = (trained[row * D + d] as number) - (base[row * D + d] as number);
  });
  return { rows: Int32Array.from(kept), values };
}

/**
 * Per-row bag of the delta only: out[r] = Σ_j w[r,j] · Δ[idx[r,j]] for the buckets that have a
 * delta (`slotOf[bucket]` = its row in `values`, or -1). Added to the base bag, it equals the bag of E + Δ.
 */
export function deltaBag(batch: FeatureBatch, rows: number, width: number, slotOf: Int32Array, values: Float32Array, D: number, out: Float32Array): void {
  out.fill(0, 0, rows * D);
  const L = batch.maxFeatures;
  for (let r = 0; r < rows; r++) {
    const count = Math.min(width, batch.counts[r] as number);
    for (let j = 0; j < count; j++) {
      const slot = slotOf[batch.indices[r * L + j] as number] as number;
      if (slot < 0) continue;
      axpy(batch.weights[r * L + j] as number, values, slot * D, out, r * D, D);
    }
  }
}
