import type { FeatureBatch } from './features.js';
import { axpy } from './model.js';

/** The embedding table's optimiser: row-wise sparse Adagrad in plain JS (tfjs would update every bucket). */

/** Scratch buffers of the sparse embedding update, reused across steps. */
export interface SparseScratch {
  slotOf: Int32Array;
  touched: Int32Array;
  grads: Float32Array;
}

export function createSparseScratch(buckets: number, maxRows: number, D: number): SparseScratch {
  return { slotOf: new Int32Array(buckets).fill(-1), touched: new Int32Array(maxRows), grads: new Float32Array(maxRows * D) };
}

/**
 * Row-wise sparse Adagrad on the embedding rows a batch touched: the gradient of a bag row is
 * weight · dL/dh0, so only those rows change (a dense tfjs update would touch every bucket).
 */
export function sparseAdagrad(embedding: Float32Array, accum: Float32Array, D: number, feats: FeatureBatch, rows: readonly number[], grad: Float32Array, lr: number, scratch: SparseScratch): void {
  const L = feats.maxFeatures;
  const { slotOf, touched, grads } = scratch;
  let n = 0;
  rows.forEach((r, k) => {
    const count = feats.counts[r] as number;
    for (let j = 0; j < count; j++) {
      const bucket = feats.indices[r * L + j] as number;
      const w = feats.weights[r * L + j] as number;
      let slot = slotOf[bucket] as number;
      if (slot < 0) {
        slot = n++;
        slotOf[bucket] = slot;
        touched[slot] = bucket;
        grads.fill(0, slot * D, slot * D + D);
      }
      axpy(w, grad, k * D, grads, slot * D, D);
    }
  });
  for (let slot = 0; slot < n; slot++) {
    const bucket = touched[slot] as number;
    slotOf[bucket] = -1;
    const o = slot * D;
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (grads[o + d] as number) * (grads[o + d] as number);
    const acc = (accum[bucket] as number) + sq / D;
    accum[bucket] = acc;
    const step = lr / (Math.sqrt(acc) + 1e-10);
    axpy(-step, grads, o, embedding, bucket * D, D);
  }
}
