/**
 * Histogram builders. Buckets from `quantileEdges` are right-closed:
 * (−∞, e₀], (e₀, e₁], …, (e_{k−2}, ∞), so k − 1 edges give k buckets.
 */


/**
 * Bucket edges at the reference sample's quantiles (i/buckets for i = 1 … buckets − 1), so each
 * bucket holds ~1/buckets of the reference. Ties collapse duplicate edges, and edges at the
 * reference maximum are dropped so that no reference bucket is empty; a discrete feature may get
 * fewer buckets than asked for. NaN values are ignored.
 */
export function quantileEdges(reference: ArrayLike<number>, buckets = 10): number[] {
  if (!Number.isInteger(buckets) || buckets < 2) throw new RangeError(`buckets must be an integer ≥ 2, got ${buckets}`);
  return quantileEdgesSorted(Float64Array.from(reference).filter((v) => !Number.isNaN(v)).sort(), buckets);
}

/** {@link quantileEdges} of a sample already sorted ascending without NaN. */
export function quantileEdgesSorted(sorted: ArrayLike<number>, buckets = 10): number[] {
  if (!Number.isInteger(buckets) || buckets < 2) throw new RangeError(`buckets must be an integer ≥ 2, got ${buckets}`);
  const n = sorted.length;
  if (n === 0) throw new RangeError('quantileEdges needs a non-empty reference sample');
  const max = sorted[n - 1] ?? 0;
  const edges: number[] = [];
  for (let i = 1; i < buckets; i++) {
    const edge = sorted[Math.ceil((i * n) / buckets) - 1] ?? max;
    if (edge < max && edge !== edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/** Index of the right-closed bucket holding `value`: the number of edges strictly below it. */
export function bucketIndex(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((edges[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts of `values` over the right-closed buckets defined by sorted `edges` (length edges.length + 1). NaN is skipped. */
export function histogram(values: ArrayLike<number>, edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (Number.isNaN(v)) continue;
    const b = bucketIndex(edges, v);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts;
}

/**
 * Counts of hashed feature ids folded into `buckets` buckets (id mod buckets): a fixed-size
 * histogram of a hashing vectorizer's feature space, comparable across windows.
 */
export function bucketCounts(featureIds: ArrayLike<number>, buckets: number): number[] {
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`buckets must be a positive integer, got ${buckets}`);
  const counts = new Array<number>(buckets).fill(0);
  for (let i = 0; i < featureIds.length; i++) {
    const id = featureIds[i] ?? -1;
    if (!Number.isInteger(id) || id < 0) throw new RangeError(`feature ids must be non-negative integers, got ${id} at index ${i}`);
    const b = id % buckets;
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts;
}

/** Occurrences of each category (e.g. predicted labels). */
export function countCategories(labels: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return counts;
}

/** Two category count maps as aligned count vectors over the sorted union of their categories. */
export function alignCategories(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): { categories: string[]; reference: number[]; current: number[] } {
  const categories = [...new Set([...reference.keys(), ...current.keys()])].sort();
  return {
    categories,
    reference: categories.map((c) => reference.get(c) ?? 0),
    current: categories.map((c) => current.get(c) ?? 0),
  };
}
