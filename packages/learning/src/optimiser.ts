import type { FeatureBatch } from './features.js';
import { axpy } from './model.js';

/** The embedding table's optimiser: row-wise sparse Adagrad in plain JS (tfjs would update every bucket). */

/** Scratch buffers of the sparse embedding update, reused across steps. */
export interface SparseScratch {
  /** bucket → its slot in this step (-1: untouched) */
  slotOf: Int32Array;
  /** slot → bucket */
  touched: Int32Array;
  /** occurrences per slot, then (after the prefix sum) where its list starts in `occRow`/`occWeight` */
  start: Int32Array;
  /** the batch row and feature weight of each occurrence, grouped by slot */
  occRow: Int32Array;
  occWeight: Float32Array;
  /** ‖dL/dh0‖² per batch row */
  rowNorm: Float64Array;
  /** one slot's summed gradient */
  sum: Float32Array;
}

export function createSparseScratch(buckets: number, maxRows: number, D: number): SparseScratch {
  return {
    slotOf: new Int32Array(buckets).fill(-1),
    touched: new Int32Array(maxRows),
    start: new Int32Array(maxRows + 1),
    occRow: new Int32Array(maxRows),
    occWeight: new Float32Array(maxRows),
    rowNorm: new Float64Array(0),
    sum: new Float32Array(D),
  };
}

/**
 * Row-wise sparse Adagrad on the embedding rows a batch touched: the gradient of a bag row is
 * Σ weight · dL/dh0 over the batch rows that contain it, so only those rows change (a dense tfjs
 * update would touch every bucket). The occurrences are grouped by bucket first, so each bucket's
 * gradient is summed in a small buffer that stays in cache (or, for a bucket seen once in the
 * batch, used straight from dL/dh0) instead of scattering into a batch-sized buffer: fewer passes
 * over D per occurrence (measured 8.0 against 9.2 ms per 128-row flipkart batch; the cache misses
 * on the table's rows dominate either way).
 */
export function sparseAdagrad(embedding: Float32Array, accum: Float32Array, D: number, feats: FeatureBatch, rows: readonly number[], grad: Float32Array, lr: number, scratch: SparseScratch): void {
  const L = feats.maxFeatures;
  const { slotOf, touched, start, occRow, occWeight, sum } = scratch;
  if (scratch.rowNorm.length < rows.length) scratch.rowNorm = new Float64Array(rows.length);
  const rowNorm = scratch.rowNorm;
  // Pass 1: slots and occurrence counts.
  let n = 0;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    const count = feats.counts[r] as number;
    for (let j = 0; j < count; j++) {
      const bucket = feats.indices[r * L + j] as number;
      let slot = slotOf[bucket] as number;
      if (slot < 0) {
        slot = n++;
        slotOf[bucket] = slot;
        touched[slot] = bucket;
        start[slot + 1] = 0;
      }
      start[slot + 1] = (start[slot + 1] as number) + 1;
    }
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (grad[k * D + d] as number) * (grad[k * D + d] as number);
    rowNorm[k] = sq;
  }
  start[0] = 0;
  for (let slot = 0; slot < n; slot++) start[slot + 1] = (start[slot + 1] as number) + (start[slot] as number);
  // Pass 2: occurrences grouped by slot (start[slot] advances while filling, then is restored).
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k] as number;
    const count = feats.counts[r] as number;
    for (let j = 0; j < count; j++) {
      const slot = slotOf[feats.indices[r * L + j] as number] as number;
      const at = start[slot] as number;
      occRow[at] = k;
      occWeight[at] = feats.weights[r * L + j] as number;
      start[slot] = at + 1;
    }
  }
  for (let slot = n; slot > 0; slot--) start[slot] = start[slot - 1] as number;
  start[0] = 0;
  // Pass 3: per bucket, its summed gradient, the Adagrad accumulator, the step.
  for (let slot = 0; slot < n; slot++) {
    const bucket = touched[slot] as number;
    slotOf[bucket] = -1;
    const from = start[slot] as number;
    const to = start[slot + 1] as number;
    if (to - from === 1) {
      const k = occRow[from] as number;
      const w = occWeight[from] as number;
      const acc = (accum[bucket] as number) + (w * w * (rowNorm[k] as number)) / D;
      accum[bucket] = acc;
      axpy((-lr / (Math.sqrt(acc) + 1e-10)) * w, grad, k * D, embedding, bucket * D, D);
      continue;
    }
    sum.fill(0);
    for (let o = from; o < to; o++) axpy(occWeight[o] as number, grad, (occRow[o] as number) * D, sum, 0, D);
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (sum[d] as number) * (sum[d] as number);
    const acc = (accum[bucket] as number) + sq / D;
    accum[bucket] = acc;
    axpy(-lr / (Math.sqrt(acc) + 1e-10), sum, 0, embedding, bucket * D, D);
  }
}
