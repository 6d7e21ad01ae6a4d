import { describe, expect, it } from 'vitest';
import { alignCategories, bucketCounts, bucketIndex, countCategories, histogram, quantileEdges } from './histogram.js';

describe('quantileEdges / histogram', () => {
  it('puts ~1/k of the reference in each bucket', () => {
    const reference = Array.from({ length: 1000 }, (_, i) => i + 1); // 1..1000
    const edges = quantileEdges(reference, 10);
    expect(edges).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(histogram(reference, edges)).toEqual(new Array<number>(10).fill(100));
  });

  it('uses right-closed buckets and sends out-of-range values to the end buckets', () => {
    const edges = [1, 2, 3];
    expect(bucketIndex(edges, 1)).toBe(0);
    expect(bucketIndex(edges, 1.5)).toBe(1);
    expect(histogram([-100, 1, 2, 2.5, 3, 99, Number.NaN], edges)).toEqual([2, 1, 2, 1]);
  });

  it('collapses ties on discrete data and never leaves a reference bucket empty', () => {
    const reference = [...new Array<number>(90).fill(0), 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
    const edges = quantileEdges(reference, 10);
    expect(edges).toEqual([0]);
    expect(histogram(reference, edges)).toEqual([90, 10]);
    expect(quantileEdges([5, 5, 5], 4)).toEqual([]);
    expect(() => quantileEdges([], 10)).toThrow(/non-empty/);
  });
});

describe('bucketCounts / categories', () => {
  it('folds hashed feature ids into a fixed number of buckets', () => {
    expect(bucketCounts(Uint32Array.from([0, 1, 64, 65, 130, 262143]), 64)).toEqual([2, 2, 1, ...new Array<number>(60).fill(0), 1]);
    expect(() => bucketCounts([1.5], 4)).toThrow(/non-negative integers/);
  });

  it('counts and aligns categories over their union', () => {
    const ref = countCategories(['a', 'b', 'a']);
    const cur = countCategories(['c', 'a']);
    expect(alignCategories(ref, cur)).toEqual({ categories: ['a', 'b', 'c'], reference: [2, 1, 0], current: [1, 0, 1] });
  });
});
