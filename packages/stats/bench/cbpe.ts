/**
 * bench:decide row `cbpe`: how far the accuracy estimated from calibrated confidences
 * (estimateAccuracy) is from the realised accuracy per window, on shipped data, with no drift and
 * with a new category (never trained on) at `newShare` of the traffic.
 */
import { estimateAccuracy } from '../src/cbpe.js';
import { mulberry32 } from '../src/random.js';
import { loadShippedText, shuffled, threeWaySplit, trainClassifier, type ShippedText } from './shippedText.js';

export interface CbpeDatasetResult {
  dataset: string;
  temperature: number;
  testAccuracy: number;
  /** Mean |estimated − realised| accuracy per window, in points. */
  maeNoDrift: number;
  /** MAE expected from the realised accuracy's own sampling noise alone (E|N(0, σ²)| = σ√(2/π)). */
  noiseFloor: number;
  /** Share of windows whose realised accuracy lies in the estimate's 95 % interval. */
  coverageNoDrift: number;
  maeNewCategory: number;
  /** Mean estimated − realised under the shift (positive: the estimate is too optimistic). */
  biasNewCategory: number;
}

/** Runs the row on both datasets: `windows` windows of `windowSize` predictions each. */
export async function benchCbpe(options: { windows?: number; windowSize?: number; newShare?: number; datasets?: ShippedText[] } = {}): Promise<CbpeDatasetResult[]> {
  const windows = options.windows ?? 200;
  const windowSize = options.windowSize ?? 500;
  const newShare = options.newShare ?? 0.1;
  const sets = options.datasets ?? (await loadShippedText());
  return sets.map((set, s) => {
    const rng = mulberry32(9100 + s);
    const split = threeWaySplit(set.known, 17);
    const model = trainClassifier(split.train, split.calibration, rng);
    const predicted = model.predict(split.test.map((e) => e.text));
    const held = model.predict(set.held.map((e) => e.text)).map((p) => ({ correct: false, confidence: p.confidence }));
    const known = split.test.map((e, i) => ({ correct: predicted[i]!.label === e.label, confidence: predicted[i]!.confidence }));
    const measure = (share: number) => {
      let abs = 0;
      let bias = 0;
      let covered = 0;
      let noise = 0;
      for (let w = 0; w < windows; w++) {
        const nNew = Math.round(share * windowSize);
        const rows = [...shuffled(known, rng).slice(0, windowSize - nNew), ...shuffled(held, rng).slice(0, nNew)];
        const estimate = estimateAccuracy(rows.map((r) => r.confidence));
        const realised = rows.filter((r) => r.correct).length / rows.length;
        abs += Math.abs(estimate.accuracy - realised);
        bias += estimate.accuracy - realised;
        noise += Math.sqrt(estimate.variance) * Math.sqrt(2 / Math.PI);
        if (realised >= estimate.interval.lower && realised <= estimate.interval.upper) covered++;
      }
      return { mae: (100 * abs) / windows, bias: (100 * bias) / windows, coverage: covered / windows, noise: (100 * noise) / windows };
    };
    const none = measure(0);
    const shifted = measure(newShare);
    return {
      dataset: set.name,
      temperature: Number(model.temperature.toFixed(3)),
      testAccuracy: known.filter((k) => k.correct).length / known.length,
      maeNoDrift: Number(none.mae.toFixed(2)),
      noiseFloor: Number(none.noise.toFixed(2)),
      coverageNoDrift: none.coverage,
      maeNewCategory: Number(shifted.mae.toFixed(2)),
      biasNewCategory: Number(shifted.bias.toFixed(2)),
    };
  });
}

/** bench:decide's table rows and JSON key for `cbpe` (goal: MAE ≤ 2 points without drift). */
export async function cbpeBench(datasets?: ShippedText[]): Promise<{ rows: Array<[string, string, string]>; json: { cbpe: unknown } }> {
  const results = await benchCbpe(datasets ? { datasets } : {});
  const rows: Array<[string, string, string]> = results.flatMap((r): Array<[string, string, string]> => [
    [`CBPE |est − realised| no drift (${r.dataset})`, `${r.maeNoDrift} pts`, `goal ≤ 2; noise floor ${r.noiseFloor} pts; 95 % interval covers ${(100 * r.coverageNoDrift).toFixed(0)} %; 200 windows of 500; T=${r.temperature}, acc ${(100 * r.testAccuracy).toFixed(1)} %`],
    [`CBPE |est − realised| new category 10 % (${r.dataset})`, `${r.maeNewCategory} pts`, `estimate too optimistic by ${r.biasNewCategory} pts: a never-seen category is confidently wrong`],
  ]);
  return { rows, json: { cbpe: { goalMaePoints: 2, datasets: results } } };
}
