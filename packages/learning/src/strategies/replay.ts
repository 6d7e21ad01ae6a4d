import type { Example } from '../data.js';
import type { WeightedExample } from '../options.js';
import type { Rng } from '../random.js';

/** Replay: a class-balanced reservoir of old rows mixed into every batch, with loss rebalancing. */

/**
 * Class-balanced reservoir: each class keeps at most capacity / classes rows, each a uniform
 * sample of that class's rows seen so far.
 */
export function updateReservoir(
  buffer: readonly Example[],
  seen: Readonly<Record<string, number>>,
  incoming: readonly Example[],
  capacity: number,
  rng: Rng,
): { buffer: Example[]; seen: Record<string, number> } {
  const counts: Record<string, number> = { ...seen };
  const byClass = new Map<string, Example[]>();
  for (const e of buffer) {
    const list = byClass.get(e.label) ?? [];
    list.push(e);
    byClass.set(e.label, list);
  }
  const classes = new Set([...Object.keys(counts), ...byClass.keys(), ...incoming.map((e) => e.label)]);
  const cap = Math.max(1, Math.floor(capacity / Math.max(1, classes.size)));
  for (const list of byClass.values()) {
    while (list.length > cap) list.splice(rng.int(list.length), 1);
  }
  for (const e of incoming) {
    const n = (counts[e.label] ?? 0) + 1;
    counts[e.label] = n;
    const list = byClass.get(e.label) ?? [];
    byClass.set(e.label, list);
    const slim: Example = { text: e.text, label: e.label };
    if (e.group !== undefined) slim.group = e.group;
    if (e.source !== undefined) slim.source = e.source;
    if (list.length < cap) list.push(slim);
    else {
      const j = rng.int(n);
      if (j < cap) list[j] = slim;
    }
  }
  const out: Example[] = [];
  for (const label of [...byClass.keys()].sort()) out.push(...(byClass.get(label) ?? []));
  return { buffer: out, seen: counts };
}

/** Rows seen so far per label: the reservoir's counts (rows it saw) plus this update's rows. */
export function seenCounts(replaySeen: Readonly<Record<string, number>>, replay: readonly Example[], train: readonly WeightedExample[]): Record<string, number> {
  const counts: Record<string, number> = { ...replaySeen };
  for (const e of replay) counts[e.label] = Math.max(counts[e.label] ?? 0, 1);
  for (const w of train) counts[w.example.label] = (counts[w.example.label] ?? 0) + 1;
  return counts;
}

/**
 * A class new to the model counts in the prior as at least `minShare` of the median old class. Rows
 * seen so far are the joint-retraining prior, but 20 corrections of a new category against
 * thousands of rows per old class would weigh almost nothing: the model would learn that the new
 * category is too rare to predict, while the users who reported it see it far more often.
 */
export function floorNewClasses(prior: Readonly<Record<string, number>>, oldLabels: readonly string[], minShare: number): Record<string, number> {
  const out = { ...prior };
  if (minShare <= 0) return out;
  const old = new Set(oldLabels);
  const oldCounts = oldLabels.map((l) => prior[l] ?? 0).filter((n) => n > 0);
  if (oldCounts.length === 0) return out;
  // The median, not the mean: on skewed data a few huge classes would lift every new class far
  // above a typical one (measured: 3–4 points more forgetting on flipkart's class-incremental scenario).
  const sorted = [...oldCounts].sort((a, b) => a - b);
  const median = ((sorted[Math.floor((sorted.length - 1) / 2)] as number) + (sorted[Math.ceil((sorted.length - 1) / 2)] as number)) / 2;
  const floor = minShare * median;
  for (const [label, n] of Object.entries(prior)) if (!old.has(label) && n > 0 && n < floor) out[label] = floor;
  return out;
}

/**
 * Multiplies each training/replay row's weight by prior(class) / mix(class), where mix is the share
 * of the class in the batches actually drawn ((1 − ratio) of new rows, ratio of reservoir rows).
 * The mean weight over the mix stays 1, so the learning rate keeps its meaning.
 */
export function rebalanceWeights(prior: Readonly<Record<string, number>>, labels: readonly string[], y: Int32Array, sampleWeight: Float32Array, nTrain: number, nReplay: number, ratio: number): void {
  const C = labels.length;
  const mix = new Float64Array(C);
  const newShare = nReplay > 0 && ratio > 0 ? 1 - ratio : 1;
  for (let i = 0; i < nTrain; i++) mix[y[i] as number] = (mix[y[i] as number] as number) + newShare / Math.max(1, nTrain);
  for (let i = nTrain; i < nTrain + nReplay; i++) mix[y[i] as number] = (mix[y[i] as number] as number) + (1 - newShare) / nReplay;
  let priorTotal = 0;
  for (let c = 0; c < C; c++) if ((mix[c] as number) > 0) priorTotal += prior[labels[c] as string] ?? 0;
  if (priorTotal <= 0) return;
  const factor = new Float64Array(C);
  for (let c = 0; c < C; c++) factor[c] = (mix[c] as number) > 0 ? (prior[labels[c] as string] ?? 0) / priorTotal / (mix[c] as number) : 0;
  for (let i = 0; i < nTrain + nReplay; i++) sampleWeight[i] = (sampleWeight[i] as number) * (factor[y[i] as number] as number);
}

