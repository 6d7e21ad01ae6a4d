/**
 * Shipped text for bench:decide's `cbpe` and `textDrift` rows: the two datasets of shared/data
 * with top-level labels, one category held out as the "new category" of a shift, and a small
 * softmax regression on the learning package's hashed features whose confidences are
 * temperature-scaled the way the trainer does it (fitTemperature on held-out rows).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createFeaturizer, fitTemperature, readExamples, softmaxRows, splitByGroup, type Example } from '@flywheel/learning';
import type { Rng } from '../src/random.js';

const dataRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data');

/** A dataset: its known-category rows and the rows of the category held out of training. */
export interface ShippedText {
  name: string;
  known: Example[];
  held: Example[];
  heldLabel: string;
}

/** Reads both shipped datasets (classes with ≥ 50 rows), holding out the median-sized category. */
export async function loadShippedText(): Promise<ShippedText[]> {
  const sets = [
    { name: 'clinc150', rows: await readExamples(resolve(dataRoot, 'clinc150/clinc150.csv'), { format: 'csv', textColumn: 'text', labelColumn: 'label', labelDepth: 1 }) },
    {
      name: 'flipkart-products',
      rows: await readExamples(resolve(dataRoot, 'flipkart-products/flipkart_com-ecommerce_sample.csv'), { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 }),
    },
  ];
  return sets.map(({ name, rows }) => {
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
    const kept = [...counts].filter(([, c]) => c >= 50).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    const heldLabel = kept[Math.floor(kept.length / 2)]![0];
    const keep = new Set(kept.map(([l]) => l));
    return { name, heldLabel, known: rows.filter((r) => keep.has(r.label) && r.label !== heldLabel), held: rows.filter((r) => r.label === heldLabel) };
  });
}

/** Fisher–Yates copy. */
export function shuffled<T>(rows: readonly T[], rng: Rng): T[] {
  const out = [...rows];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Predicted label and temperature-scaled confidence of each text. */
export interface Classifier {
  temperature: number;
  predict(texts: readonly string[]): { label: string; confidence: number }[];
}

/**
 * Softmax regression on hashed features (plain SGD, a few epochs), then a temperature fitted on
 * `calibration` rows (held-out NLL), as the trainer stores with every version and serving applies.
 */
export function trainClassifier(train: readonly Example[], calibration: readonly Example[], rng: Rng, epochs = 4): Classifier {
  const featurizer = createFeaturizer({ buckets: 1 << 15, maxFeatures: 128 });
  const labels = [...new Set(train.map((e) => e.label))].sort();
  const C = labels.length;
  const D = featurizer.config.buckets;
  const w = new Float32Array(D * C);
  const b = new Float32Array(C);
  const logitsOf = (batch: ReturnType<typeof featurizer.featurize>, r: number, out: Float64Array): void => {
    out.set(b);
    const L = batch.maxFeatures;
    for (let k = 0; k < (batch.counts[r] as number); k++) {
      const row = (batch.indices[r * L + k] as number) * C;
      const x = batch.weights[r * L + k] as number;
      for (let c = 0; c < C; c++) out[c] = (out[c] as number) + x * (w[row + c] as number);
    }
  };
  const target = new Map(labels.map((l, i) => [l, i]));
  const batch = featurizer.featurize(train.map((e) => e.text));
  const z = new Float64Array(C);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const lr = 2 / (1 + epoch);
    for (const r of shuffled(Array.from({ length: train.length }, (_, i) => i), rng)) {
      logitsOf(batch, r, z);
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, z[c] as number);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += z[c] = Math.exp((z[c] as number) - max);
      const y = target.get(train[r]!.label) as number;
      const L = batch.maxFeatures;
      for (let c = 0; c < C; c++) {
        const g = ((z[c] as number) / sum - (c === y ? 1 : 0)) * lr;
        b[c] = (b[c] as number) - g * 0.1;
        for (let k = 0; k < (batch.counts[r] as number); k++) {
          const i = (batch.indices[r * L + k] as number) * C + c;
          w[i] = (w[i] as number) - g * (batch.weights[r * L + k] as number);
        }
      }
    }
  }
  const logits = (texts: readonly string[]): Float64Array => {
    const f = featurizer.featurize(texts);
    const out = new Float64Array(texts.length * C);
    for (let r = 0; r < texts.length; r++) {
      logitsOf(f, r, z);
      out.set(z, r * C);
    }
    return out;
  };
  const calibrationLogits = logits(calibration.map((e) => e.text));
  const temperature = fitTemperature(calibrationLogits, Int32Array.from(calibration, (e) => target.get(e.label) ?? 0), C);
  return {
    temperature,
    predict: (texts) => {
      const p = softmaxRows(logits(texts), C, temperature);
      return texts.map((_, r) => {
        let best = 0;
        for (let c = 1; c < C; c++) if ((p[r * C + c] as number) > (p[r * C + best] as number)) best = c;
        return { label: labels[best]!, confidence: p[r * C + best] as number };
      });
    },
  };
}

/** Train / calibration / test split by group (near-duplicate texts stay on one side). */
export function threeWaySplit(rows: readonly Example[], seed: number): { train: Example[]; calibration: Example[]; test: Example[] } {
  const { train, held } = splitByGroup(rows, { fraction: 0.4, seed });
  const halves = splitByGroup(held, { fraction: 0.5, seed: seed + 1 });
  return { train, calibration: halves.train, test: halves.held };
}
