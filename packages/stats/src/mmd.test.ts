import { describe, expect, it } from 'vitest';
import { EmbeddingSum, empiricalPValue, mmdSquared, mmdTest, type SparseRows } from './mmd.js';
import { mulberry32, type Rng } from './random.js';

/** Rows of `features` random buckets each, drawn from [from, from + span). */
const rows = (rng: Rng, n: number, from: number, span: number, features = 4): SparseRows => {
  const indices = new Int32Array(n * features);
  const weights = new Float32Array(n * features);
  for (let i = 0; i < n * features; i++) {
    indices[i] = from + Math.floor(rng() * span);
    weights[i] = 1 / features;
  }
  return { rows: n, maxFeatures: features, indices, weights, counts: new Int32Array(n).fill(features) };
};

describe('linear-kernel MMD on hashed rows', () => {
  it('is about 0 for two samples of one distribution and clearly positive for new vocabulary', () => {
    const rng = mulberry32(3);
    const ref = new EmbeddingSum(256).addRows(rows(rng, 2000, 0, 200));
    const same = new EmbeddingSum(256).addRows(rows(rng, 500, 0, 200));
    const shifted = new EmbeddingSum(256).addRows(rows(rng, 500, 100, 150));
    expect(Math.abs(mmdSquared(ref, same))).toBeLessThan(0.002);
    expect(mmdSquared(ref, shifted)).toBeGreaterThan(0.01);
    expect(mmdTest(ref, shifted).effectSize.value).toBeCloseTo(Math.sqrt(mmdSquared(ref, shifted)), 12);
  });

  it('matches the unbiased estimate computed pair by pair', () => {
    const rng = mulberry32(4);
    const a = rows(rng, 6, 0, 5, 2);
    const b = rows(rng, 5, 2, 5, 2);
    const dense = (r: SparseRows): number[][] =>
      Array.from({ length: r.rows }, (_, i) => {
        const v = new Array<number>(8).fill(0);
        for (let k = 0; k < r.counts[i]!; k++) v[r.indices[i * r.maxFeatures + k]!]! += r.weights[i * r.maxFeatures + k]!;
        const norm = Math.hypot(...v);
        return v.map((x) => x / norm);
      });
    const k = (x: number[], y: number[]): number => x.reduce((s, xi, d) => s + xi * y[d]!, 0);
    const [X, Y] = [dense(a), dense(b)];
    let xx = 0;
    let yy = 0;
    let xy = 0;
    X.forEach((x, i) => X.forEach((y, j) => (xx += i === j ? 0 : k(x, y))));
    Y.forEach((x, i) => Y.forEach((y, j) => (yy += i === j ? 0 : k(x, y))));
    X.forEach((x) => Y.forEach((y) => (xy += k(x, y))));
    const expected = xx / (6 * 5) + yy / (5 * 4) - (2 * xy) / (6 * 5);
    expect(mmdSquared(new EmbeddingSum(8).addRows(a), new EmbeddingSum(8).addRows(b))).toBeCloseTo(expected, 6);
  });

  it('removes a sub-sample exactly (the rest of a reference)', () => {
    const rng = mulberry32(5);
    const r = rows(rng, 10, 0, 30);
    const all = new EmbeddingSum(32).addRows(r);
    const first = new EmbeddingSum(32);
    for (let i = 0; i < 4; i++) first.addRow(r, i);
    const rest = new EmbeddingSum(32);
    for (let i = 4; i < 10; i++) rest.addRow(r, i);
    const diff = all.minus(first);
    expect(diff.n).toBe(6);
    diff.sum.forEach((x, d) => expect(x).toBeCloseTo(rest.sum[d]!, 9));
  });

  it('gives a permutation p-value that is never 0', () => {
    expect(empiricalPValue([0.1, 0.2, 0.3], 0.25)).toBeCloseTo(2 / 4, 12);
    expect(empiricalPValue([0.1, 0.2, 0.3], 9)).toBeCloseTo(1 / 4, 12);
  });
});
