import { describe, expect, it } from 'vitest';
import type { FeatureBatch } from './features.js';
import { createSparseScratch, sparseAdagrad } from './optimiser.js';
import { createRng } from './random.js';

// Reference: the dense form of the same update, bucket by bucket.
function denseAdagrad(embedding: Float32Array, accum: Float32Array, D: number, feats: FeatureBatch, rows: readonly number[], grad: Float32Array, lr: number): void {
  const buckets = accum.length;
  const g = new Float64Array(buckets * D);
  const hit = new Uint8Array(buckets);
  rows.forEach((r, k) => {
    for (let j = 0; j < (feats.counts[r] as number); j++) {
      const b = feats.indices[r * feats.maxFeatures + j] as number;
      hit[b] = 1;
      for (let d = 0; d < D; d++) g[b * D + d] = (g[b * D + d] as number) + (feats.weights[r * feats.maxFeatures + j] as number) * (grad[k * D + d] as number);
    }
  });
  for (let b = 0; b < buckets; b++) {
    if (hit[b] === 0) continue;
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (g[b * D + d] as number) ** 2;
    accum[b] = (accum[b] as number) + sq / D;
    const step = lr / (Math.sqrt(accum[b] as number) + 1e-10);
    for (let d = 0; d < D; d++) embedding[b * D + d] = (embedding[b * D + d] as number) - step * (g[b * D + d] as number);
  }
}

describe('sparseAdagrad', () => {
  it('equals the dense Adagrad update, with buckets repeated within a row and across rows', () => {
    const rng = createRng(7);
    const buckets = 13;
    const D = 6;
    const L = 5;
    const rowsInBatch = 9;
    const counts = Int32Array.from({ length: rowsInBatch }, () => 1 + rng.int(L));
    const feats: FeatureBatch = {
      rows: rowsInBatch,
      maxFeatures: L,
      counts,
      indices: Int32Array.from({ length: rowsInBatch * L }, () => rng.int(buckets)),
      weights: Float32Array.from({ length: rowsInBatch * L }, () => rng.next()),
    };
    const embedding = Float32Array.from({ length: buckets * D }, () => rng.normal());
    const accum = Float32Array.from({ length: buckets }, () => rng.next());
    const expected = { embedding: embedding.slice(), accum: accum.slice() };
    const scratch = createSparseScratch(buckets, rowsInBatch * L, D);
    for (let step = 0; step < 3; step++) {
      const rows = Array.from({ length: 6 }, () => rng.int(rowsInBatch));
      const grad = Float32Array.from({ length: rows.length * D }, () => rng.normal());
      sparseAdagrad(embedding, accum, D, feats, rows, grad, 0.1, scratch);
      denseAdagrad(expected.embedding, expected.accum, D, feats, rows, grad, 0.1);
    }
    for (let i = 0; i < embedding.length; i++) expect(embedding[i]).toBeCloseTo(expected.embedding[i] as number, 5);
    for (let i = 0; i < accum.length; i++) expect(accum[i]).toBeCloseTo(expected.accum[i] as number, 5);
    // The scratch is left clean for the next step.
    expect(scratch.slotOf.every((s) => s === -1)).toBe(true);
  });
});
