import { describe, expect, it } from 'vitest';
import { calibrateThresholds, countWindowEffects, mmdWindowEffects, numericWindowEffects } from './calibrateThresholds.js';
import { kolmogorovSmirnovTest } from './driftTests.js';
import { driftVerdict, numericReference, compareNumeric } from './driftVerdict.js';
import { mulberry32, sampleNormal } from './random.js';

describe('calibrateThresholds: the effect stationary windows exceed with probability alpha', () => {
  it('holds the false-alarm rate of fresh stationary windows near alpha', () => {
    const rng = mulberry32(21);
    const reference = Array.from({ length: 4000 }, () => sampleNormal(rng));
    const ref = numericReference(reference);
    const { ks } = calibrateThresholds(reference.length, 200, numericWindowEffects(reference, ref.edges), { alpha: 0.05, draws: 400, rng });
    let alarms = 0;
    const windows = 400;
    for (let w = 0; w < windows; w++) {
      const fresh = Array.from({ length: 200 }, () => sampleNormal(rng));
      if (kolmogorovSmirnovTest(reference, fresh).statistic >= ks.value) alarms++;
    }
    expect(alarms / windows).toBeGreaterThan(0.01);
    expect(alarms / windows).toBeLessThan(0.1);
  });

  it('gives bigger windows smaller thresholds, and the effect floor keeps a tiny shift in a huge window quiet', () => {
    const rng = mulberry32(22);
    const reference = Array.from({ length: 40_000 }, () => sampleNormal(rng));
    const ref = numericReference(reference);
    const effects = numericWindowEffects(reference, ref.edges);
    const small = calibrateThresholds(reference.length, 100, effects, { alpha: 0.01, draws: 200, rng }).ks;
    const large = calibrateThresholds(reference.length, 10_000, effects, { alpha: 0.01, draws: 200, rng }).ks;
    expect(large.value).toBeLessThan(small.value / 3);
    const nudged = Array.from({ length: 10_000 }, () => sampleNormal(rng, 0.08)); // KS D ≈ 0.03: past the calibrated threshold, under the 0.05 floor
    const [, ksSignal] = compareNumeric('x', ref, nudged);
    expect(ksSignal!.result.effectSize.value).toBeGreaterThan(large.value);
    const verdict = driftVerdict([{ ...ksSignal!, threshold: large }]);
    expect(verdict.level).toBe('none');
    expect(verdict.findings[0]?.reason).toMatch(/effect floor/);
    const moved = Array.from({ length: 10_000 }, () => sampleNormal(rng, 0.5));
    expect(driftVerdict([{ ...compareNumeric('x', ref, moved)[1]!, threshold: large }]).drifted).toBe(true);
  });

  it('measures a window against the rest of the reference (KS identity and count PSI)', () => {
    const values = [1, 2, 3, 4, 5, 6, 7, 8];
    const window = Int32Array.from([0, 1]);
    const { ks } = numericWindowEffects(values, [4])(window);
    expect(ks).toBeCloseTo(kolmogorovSmirnovTest([1, 2], [3, 4, 5, 6, 7, 8]).statistic, 12);
    const { psi } = countWindowEffects([[0], [0], [1], [1]], 2)(Int32Array.from([0, 1]));
    expect(psi).toBeGreaterThan(1); // window all bucket 0, rest all bucket 1
  });

  it('measures the MMD of a window against the rest exactly as two separate sums would', async () => {
    const { EmbeddingSum, mmdSquared } = await import('./mmd.js');
    const rng = mulberry32(24);
    const n = 60;
    const indices = Int32Array.from({ length: n * 3 }, () => Math.floor(rng() * 40));
    const rows = { rows: n, maxFeatures: 3, indices, weights: new Float32Array(n * 3).fill(1 / 3), counts: new Int32Array(n).fill(3) };
    const effects = mmdWindowEffects(rows, 32);
    for (const window of [Int32Array.from([0, 5, 7, 9]), Int32Array.from([1, 2, 3, 4, 50, 59])]) {
      const w = new EmbeddingSum(32);
      const rest = new EmbeddingSum(32);
      for (let r = 0; r < n; r++) (window.includes(r) ? w : rest).addRow(rows, r);
      expect(effects(window).mmd).toBeCloseTo(Math.sqrt(Math.max(0, mmdSquared(rest, w))), 9);
    }
  });

  it('calibrates MMD so a new topic in the window passes the threshold and stationary data does not', () => {
    const rng = mulberry32(23);
    const n = 3000;
    const features = 4;
    const make = (count: number, newTopic: number) => {
      const indices = new Int32Array(count * features);
      for (let i = 0; i < count; i++) {
        const from = rng() < newTopic ? 500 : 0;
        for (let k = 0; k < features; k++) indices[i * features + k] = from + Math.floor(rng() * 400);
      }
      return { rows: count, maxFeatures: features, indices, weights: new Float32Array(count * features).fill(0.25), counts: new Int32Array(count).fill(features) };
    };
    const reference = make(n, 0);
    const { mmd } = calibrateThresholds(n, 500, mmdWindowEffects(reference, 1024), { alpha: 0.01, draws: 200, rng });
    expect(mmd.value).toBeGreaterThan(0);
    const effect = (rows: ReturnType<typeof make>): number => mmdWindowEffects({ ...reference, rows: n + rows.rows, indices: Int32Array.from([...reference.indices, ...rows.indices]), weights: Float32Array.from([...reference.weights, ...rows.weights]), counts: Int32Array.from([...reference.counts, ...rows.counts]) }, 1024)(Int32Array.from({ length: rows.rows }, (_, i) => n + i)).mmd;
    expect(effect(make(500, 0.2))).toBeGreaterThan(mmd.value);
    expect(effect(make(500, 0))).toBeLessThan(mmd.value * 1.5);
  });
});
