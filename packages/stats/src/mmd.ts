/**
 * Sparse rows in the hashed-feature layout of @flywheel/learning's featurizer: row r holds
 * `counts[r]` (bucket, weight) pairs at [r·maxFeatures, r·maxFeatures + counts[r]).
 */
export interface SparseRows {
  readonly rows: number;
  readonly maxFeatures: number;
  readonly indices: Int32Array;
  readonly weights: Float32Array;
  readonly counts: Int32Array;
}

/**
 * The running sum of unit-length sparse vectors in a `dims`-dimensional space: all a linear-kernel
 * MMD needs (Σx and Σ‖x‖²). Each row is scaled to unit L2 norm, so the kernel is the cosine
 * similarity of two texts' hashed n-gram bags and every text weighs the same, long or short.
 */
export class EmbeddingSum {
  readonly sum: Float64Array;
  /** One row's folded weights while it is added (all zero between calls). */
  private readonly scratch: Float64Array;
  n = 0;
  /** Σ‖x_i‖²: the number of non-empty rows (each has norm 1). */
  squaredNorms = 0;

  constructor(readonly dims: number) {
    if (!(Number.isInteger(dims) && dims > 0)) throw new RangeError(`dims must be a positive integer, got ${dims}`);
    this.sum = new Float64Array(dims);
    this.scratch = new Float64Array(dims);
  }

  /** Adds row `r` of `rows` (`sign` −1 removes it again). Buckets are folded into `dims` first, then the row is scaled to unit norm. */
  addRow(rows: SparseRows, r: number, sign: 1 | -1 = 1): void {
    const start = r * rows.maxFeatures;
    const used = rows.counts[r] as number;
    const touched: number[] = [];
    for (let k = 0; k < used; k++) {
      const d = (rows.indices[start + k] as number) % this.dims;
      if (this.scratch[d] === 0) touched.push(d);
      this.scratch[d] = (this.scratch[d] as number) + (rows.weights[start + k] as number);
    }
    let norm = 0;
    for (const d of touched) norm += (this.scratch[d] as number) ** 2;
    this.n += sign;
    const scale = norm === 0 ? 0 : sign / Math.sqrt(norm); // a text without features is the zero vector
    for (const d of touched) {
      this.sum[d] = (this.sum[d] as number) + (this.scratch[d] as number) * scale;
      this.scratch[d] = 0;
    }
    if (norm > 0) this.squaredNorms += sign;
  }

  /** Adds every row of `rows`. */
  addRows(rows: SparseRows): this {
    for (let r = 0; r < rows.rows; r++) this.addRow(rows, r);
    return this;
  }

  /** A copy minus `other` (a sub-sample of this one): the rest of a reference once a window is taken out. */
  minus(other: EmbeddingSum): EmbeddingSum {
    if (other.dims !== this.dims) throw new RangeError(`embedding sums need the same dims, got ${this.dims} and ${other.dims}`);
    const out = new EmbeddingSum(this.dims);
    for (let d = 0; d < this.dims; d++) out.sum[d] = (this.sum[d] as number) - (other.sum[d] as number);
    out.n = this.n - other.n;
    out.squaredNorms = this.squaredNorms - other.squaredNorms;
    return out;
  }
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let d = 0; d < a.length; d++) s += (a[d] as number) * (b[d] as number);
  return s;
};

/**
 * Unbiased squared maximum mean discrepancy with the linear (cosine) kernel between two samples
 * given as sums: (‖Σx‖² − Σ‖x‖²)/(n(n−1)) + (‖Σy‖² − Σ‖y‖²)/(m(m−1)) − 2 Σx·Σy/(nm). Zero in
 * expectation when both come from one distribution; can be slightly negative. O(dims).
 */
export function mmdSquared(x: EmbeddingSum, y: EmbeddingSum): number {
  if (x.dims !== y.dims) throw new RangeError(`embedding sums need the same dims, got ${x.dims} and ${y.dims}`);
  if (x.n < 2 || y.n < 2) throw new RangeError(`MMD needs at least two rows per sample, got ${x.n} and ${y.n}`);
  const xx = (dot(x.sum, x.sum) - x.squaredNorms) / (x.n * (x.n - 1));
  const yy = (dot(y.sum, y.sum) - y.squaredNorms) / (y.n * (y.n - 1));
  return xx + yy - (2 * dot(x.sum, y.sum)) / (x.n * y.n);
}

/**
 * Two-sample MMD result: `statistic` is MMD²ᵤ; the effect size is the distance between the two mean
 * embeddings, √max(0, MMD²ᵤ), which does not grow with the sample sizes.
 */
export interface MmdResult {
  readonly test: 'mmd';
  readonly statistic: number;
  /** Share of stationary calibration windows at least as far from the reference (1 without calibration). */
  readonly pValue: number;
  readonly n: number;
  readonly m: number;
  readonly effectSize: { readonly measure: 'mmd'; readonly value: number };
}

/** MMD between a reference and a window; `nullStatistics` (ascending, from calibration) give the p-value. */
export function mmdTest(reference: EmbeddingSum, window: EmbeddingSum, nullStatistics?: ArrayLike<number>): MmdResult {
  const statistic = mmdSquared(reference, window);
  return {
    test: 'mmd',
    statistic,
    pValue: nullStatistics && nullStatistics.length > 0 ? empiricalPValue(nullStatistics, statistic) : 1,
    n: reference.n,
    m: window.n,
    effectSize: { measure: 'mmd', value: Math.sqrt(Math.max(0, statistic)) },
  };
}

/** (1 + #{null ≥ observed}) / (draws + 1): the permutation p-value, never 0. `nulls` may be in any order. */
export function empiricalPValue(nulls: ArrayLike<number>, observed: number): number {
  let atLeast = 0;
  for (let i = 0; i < nulls.length; i++) if ((nulls[i] as number) >= observed) atLeast++;
  return (1 + atLeast) / (nulls.length + 1);
}
