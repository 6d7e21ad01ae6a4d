import { populationStabilityIndex } from './driftTests.js';
import { bucketIndex } from './histogram.js';
import { EmbeddingSum, type SparseRows } from './mmd.js';
import type { Rng } from './random.js';

/**
 * An alarm threshold calibrated on a reference: the effect size that stationary windows of
 * `windowSize` rows exceed with probability `alpha`.
 */
export interface CalibratedThreshold {
  readonly value: number;
  readonly alpha: number;
  readonly windowSize: number;
  /** Effect sizes of the stationary windows drawn, ascending (the null distribution, for p-values). */
  readonly nulls: Float64Array;
}

/** Options of {@link calibrateThresholds}. */
export interface CalibrationOptions {
  /** False-alarm probability per statistic and window (e.g. 0.05 / number of statistics). */
  readonly alpha: number;
  /** Stationary windows drawn; at least ~2/alpha for a stable quantile. */
  readonly draws: number;
  readonly rng: Rng;
}

/**
 * Calibrates thresholds by drawing stationary windows out of the reference itself. Each draw takes
 * `windowSize` rows without replacement (at most half the reference) and hands their indices to
 * `effects`, which measures them against the rest of the reference — a window and the reference it
 * is compared with never share rows, as in serving. The threshold of each statistic is the
 * ⌈(1 − α)(draws + 1)⌉-th smallest effect. When the reference is smaller than two windows, the
 * window drawn is smaller than `windowSize`, which makes the threshold higher (conservative).
 */
export function calibrateThresholds<K extends string>(
  referenceSize: number,
  windowSize: number,
  effects: (window: Int32Array) => Record<K, number>,
  options: CalibrationOptions,
): Record<K, CalibratedThreshold> {
  const { alpha, draws, rng } = options;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  if (!(Number.isInteger(draws) && draws >= 10)) throw new RangeError(`draws must be an integer ≥ 10, got ${draws}`);
  const m = Math.min(windowSize, Math.floor(referenceSize / 2));
  if (m < 2) throw new RangeError(`calibration needs a reference of at least 4 rows, got ${referenceSize}`);
  const order = Int32Array.from({ length: referenceSize }, (_, i) => i);
  const samples = new Map<K, Float64Array>();
  for (let d = 0; d < draws; d++) {
    // Partial Fisher–Yates: the first m slots become a uniform sample without replacement.
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rng() * (referenceSize - i));
      const t = order[i] as number;
      order[i] = order[j] as number;
      order[j] = t;
    }
    const measured = effects(order.subarray(0, m));
    for (const key of Object.keys(measured) as K[]) {
      let s = samples.get(key);
      if (!s) samples.set(key, (s = new Float64Array(draws)));
      s[d] = measured[key];
    }
  }
  const rank = Math.min(draws, Math.ceil((1 - alpha) * (draws + 1))) - 1;
  const out = {} as Record<K, CalibratedThreshold>;
  for (const [key, s] of samples) {
    s.sort();
    out[key] = { value: s[rank] as number, alpha, windowSize: m, nulls: s };
  }
  return out;
}

/**
 * Effect sizes of a window of a numeric feature against the rest of its reference: KS D and PSI
 * over the reference's quantile `edges`. KS uses D(W, rest) = D(W, all) · n / (n − m), exact
 * because the reference's ECDF is the mix of the window's and the rest's.
 */
export function numericWindowEffects(values: ArrayLike<number>, edges: readonly number[]): (window: Int32Array) => { ks: number; psi: number } {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  const counts = new Array<number>(edges.length + 1).fill(0);
  const bucketOf = Int32Array.from({ length: n }, (_, i) => bucketIndex(edges, values[i] as number));
  for (let i = 0; i < n; i++) counts[bucketOf[i] as number]! += 1;
  return (window) => {
    const m = window.length;
    const w = new Float64Array(m);
    const wCounts = new Array<number>(counts.length).fill(0);
    for (let k = 0; k < m; k++) {
      const i = window[k] as number;
      w[k] = values[i] as number;
      wCounts[bucketOf[i] as number]! += 1;
    }
    w.sort();
    let a = 0;
    let b = 0;
    let d = 0;
    while (a < n && b < m) {
      const x = Math.min(sorted[a] as number, w[b] as number);
      while (a < n && (sorted[a] as number) <= x) a++;
      while (b < m && (w[b] as number) <= x) b++;
      d = Math.max(d, Math.abs(a / n - b / m));
    }
    const rest = counts.map((c, j) => c - (wCounts[j] as number));
    return { ks: (d * n) / (n - m), psi: populationStabilityIndex(rest, wCounts).psi };
  };
}

/**
 * PSI of a window against the rest of the reference over hashed buckets, from each row's buckets
 * (`rowBuckets[i]`: the bucket of every token of row i).
 */
export function countWindowEffects(rowBuckets: readonly ArrayLike<number>[], buckets: number): (window: Int32Array) => { psi: number } {
  const total = new Array<number>(buckets).fill(0);
  for (const row of rowBuckets) for (let k = 0; k < row.length; k++) total[row[k] as number]! += 1;
  return (window) => {
    const w = new Array<number>(buckets).fill(0);
    for (let k = 0; k < window.length; k++) {
      const row = rowBuckets[window[k] as number]!;
      for (let t = 0; t < row.length; t++) w[row[t] as number]! += 1;
    }
    // A window of texts without tokens has no histogram: no evidence of drift.
    if (w.every((c) => c === 0)) return { psi: 0 };
    return { psi: populationStabilityIndex(total.map((c, j) => c - (w[j] as number)), w).psi };
  };
}

/**
 * MMD effect size (√max(0, MMD²ᵤ)) of a window of hashed rows against the rest of the reference.
 * Sparse per draw: with S the reference sum and W the window's, rest = S − W, so only S·W and W·W
 * are needed, over the dimensions the window touches.
 */
export function mmdWindowEffects(rows: SparseRows, dims: number): (window: Int32Array) => { mmd: number } {
  const all = new EmbeddingSum(dims).addRows(rows);
  let allNorm = 0;
  for (let d = 0; d < dims; d++) allNorm += (all.sum[d] as number) ** 2;
  const w = new EmbeddingSum(dims);
  const seen = new Uint8Array(dims);
  return (window) => {
    const touched: number[] = [];
    for (let k = 0; k < window.length; k++) {
      const r = window[k] as number;
      w.addRow(rows, r);
      const start = r * rows.maxFeatures;
      for (let f = 0; f < (rows.counts[r] as number); f++) {
        const d = (rows.indices[start + f] as number) % dims;
        if (seen[d] === 0) {
          seen[d] = 1;
          touched.push(d);
        }
      }
    }
    let ww = 0;
    let sw = 0;
    for (const d of touched) {
      const x = w.sum[d] as number;
      ww += x * x;
      sw += (all.sum[d] as number) * x;
      w.sum[d] = 0;
      seen[d] = 0;
    }
    const m = w.n;
    const mNorms = w.squaredNorms;
    w.n = 0;
    w.squaredNorms = 0;
    const n = all.n - m;
    const nNorms = all.squaredNorms - mNorms;
    const rr = allNorm - 2 * sw + ww; // ‖S − W‖²
    const rw = sw - ww; // (S − W)·W
    const mmd2 = (rr - nNorms) / (n * (n - 1)) + (ww - mNorms) / (m * (m - 1)) - (2 * rw) / (n * m);
    return { mmd: Math.sqrt(Math.max(0, mmd2)) };
  };
}

/** Per-row text features of a reference, as the drift-monitor measures them. */
export interface TextDriftSample {
  /** Characters per text: [rows]. */
  readonly textLength: ArrayLike<number>;
  readonly textLengthEdges: readonly number[];
  /** OOV rate of the held-out texts against the reference vocabulary: [held-out rows]. */
  readonly oovRate: ArrayLike<number>;
  readonly oovRateEdges: readonly number[];
  /** Hashed-token bucket of every token, per text: [rows][tokens]. */
  readonly tokenBuckets: readonly ArrayLike<number>[];
  readonly buckets: number;
  /** Hashed n-gram rows of the texts (learning's featurizer) and the MMD space they fold into. */
  readonly embedding: SparseRows;
  readonly dims: number;
}

/** The text statistics the drift-monitor judges, named `feature/test`. */
export const TEXT_DRIFT_STATISTICS = ['text_length/ks', 'text_length/psi', 'oov_rate/ks', 'oov_rate/psi', 'hashed_tokens/psi', 'text_embedding/mmd'] as const;
export type TextDriftStatistic = (typeof TEXT_DRIFT_STATISTICS)[number];

/**
 * Calibrated thresholds of every text statistic for windows of `windowSize` texts, with a
 * false-alarm probability per window of at most `familyAlpha` over all of them (Bonferroni: each
 * statistic gets familyAlpha / 6). Draws default to enough for a stable (1 − α) quantile.
 */
export function calibrateTextDrift(sample: TextDriftSample, windowSize: number, options: { familyAlpha: number; rng: Rng; draws?: number }): Record<TextDriftStatistic, CalibratedThreshold> {
  const alpha = options.familyAlpha / TEXT_DRIFT_STATISTICS.length;
  const draws = options.draws ?? Math.max(200, Math.ceil(2 / alpha));
  const opts = { alpha, draws, rng: options.rng };
  const length = calibrateThresholds(sample.textLength.length, windowSize, numericWindowEffects(sample.textLength, sample.textLengthEdges), opts);
  const oov = calibrateThresholds(sample.oovRate.length, windowSize, numericWindowEffects(sample.oovRate, sample.oovRateEdges), opts);
  const tokens = countWindowEffects(sample.tokenBuckets, sample.buckets);
  const mmd = mmdWindowEffects(sample.embedding, sample.dims);
  const text = calibrateThresholds(sample.tokenBuckets.length, windowSize, (w) => ({ ...tokens(w), ...mmd(w) }), opts);
  return {
    'text_length/ks': length.ks,
    'text_length/psi': length.psi,
    'oov_rate/ks': oov.ks,
    'oov_rate/psi': oov.psi,
    'hashed_tokens/psi': text.psi,
    'text_embedding/mmd': text.mmd,
  };
}
