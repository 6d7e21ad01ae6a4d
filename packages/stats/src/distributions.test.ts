import { describe, expect, it } from 'vitest';
import { chiSquareSf, kolmogorovSf, logGamma, normalCdf, normalQuantile, normalSf, regularizedGammaP, regularizedGammaQ } from './distributions.js';

// Reference values computed with scipy 1.17 (scipy.stats.norm / chi2 / kstwobign, scipy.special).
const relClose = (actual: number, expected: number, rel: number): void => {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.abs(expected));
};

describe('normalCdf', () => {
  it.each([
    [-37, 5.7255712225239266e-300],
    [-20, 2.7536241186061556e-89],
    [-10, 7.61985302416047e-24],
    [-8, 6.22096057427174e-16],
    [-5, 2.866515718791933e-7],
    [-3, 0.0013498980316300933],
    [-1.96, 0.024997895148220435],
    [-1, 0.15865525393145707],
    [-0.5, 0.3085375387259869],
    [0, 0.5],
    [0.3, 0.6179114221889526],
    [1, 0.8413447460685429],
    [1.6448536269514722, 0.95],
    [1.96, 0.9750021048517795],
    [3, 0.9986501019683699],
    [5, 0.9999997133484281],
  ])('Φ(%d) matches scipy to 1e-12 relative', (x, expected) => {
    relClose(normalCdf(x), expected, 1e-12);
  });

  it('keeps upper-tail precision through normalSf', () => {
    relClose(normalSf(8), 6.22096057427174e-16, 1e-12);
    expect(normalCdf(40)).toBe(1);
    expect(normalCdf(-40)).toBe(0);
  });
});

describe('normalQuantile', () => {
  it.each([
    [1e-300, -37.0470962993612],
    [1e-20, -9.262340089798409],
    [1e-10, -6.361340902404056],
    [1e-5, -4.264890793922825],
    [0.001, -3.090232306167813],
    [0.01, -2.3263478740408408],
    [0.025, -1.9599639845400545],
    [0.05, -1.6448536269514729],
    [0.2, -0.8416212335729142],
    [0.5, 0],
    [0.7, 0.5244005127080407],
    [0.975, 1.959963984540054],
    [0.999, 3.090232306167813],
    [1 - 1e-10, 6.361340889697422],
  ])('Φ⁻¹(%d) matches scipy to 1e-12', (p, expected) => {
    expect(normalQuantile(p)).toBeCloseTo(expected, 12);
  });

  it('inverts normalCdf and handles the ends', () => {
    for (const x of [-6, -2.5, -0.1, 0.7, 2.2, 4]) expect(normalQuantile(normalCdf(x))).toBeCloseTo(x, 9);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
  });
});

describe('logGamma and incomplete gamma', () => {
  it('matches scipy.special', () => {
    relClose(logGamma(0.1), 2.252712651734206, 1e-13);
    relClose(logGamma(100), 359.1342053695754, 1e-13);
    relClose(logGamma(1000.5), 5908.674175848678, 1e-13);
    expect(logGamma(1)).toBeCloseTo(0, 14);
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 13);
    relClose(regularizedGammaP(2.5, 1.5), 0.3000141641213724, 1e-12);
    relClose(regularizedGammaQ(0.5, 30), 9.485737571073857e-15, 1e-12);
  });
});

describe('chiSquareSf', () => {
  it.each([
    [3.841458820694124, 1, 0.05],
    [5.991464547107979, 2, 0.05],
    [10, 5, 0.07523524614651217],
    [0.5, 3, 0.9188914116546758],
    [100, 80, 0.064570368921133],
    [200, 100, 1.1784500720979781e-8],
    [1000, 900, 0.010994608942135844],
    [1200, 1023, 9.870605956167375e-5],
    [2.5, 0.5, 0.04724670114390913],
    [60, 1, 9.485737571073857e-15],
  ])('P(χ² > %d | df=%d) matches scipy', (x, df, expected) => {
    relClose(chiSquareSf(x, df), expected, 1e-11);
  });

  it('agrees with closed forms (df=1: 2(1−Φ(√x)); df=2: e^(−x/2))', () => {
    for (const x of [0.01, 0.7, 3, 12, 40]) {
      relClose(chiSquareSf(x, 1), 2 * normalSf(Math.sqrt(x)), 1e-11);
      relClose(chiSquareSf(x, 2), Math.exp(-x / 2), 1e-12);
    }
    expect(chiSquareSf(0, 4)).toBe(1);
    expect(() => chiSquareSf(1, 0)).toThrow(/df > 0/);
  });
});

describe('kolmogorovSf', () => {
  it.each([
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1, 0.26999967167735456],
    [1.17, 0.12939004218561884],
    [1.19, 0.11774229287977166],
    [1.3580986393225505, 0.05],
    [1.6276236115189502, 0.01],
    [2, 0.0006709252557796953],
    [3, 3.045995948942526e-8],
  ])('Q_KS(%d) matches scipy kstwobign.sf', (x, expected) => {
    relClose(kolmogorovSf(x), expected, 1e-12);
  });

  it('is 1 at and below 0', () => {
    expect(kolmogorovSf(0)).toBe(1);
    expect(kolmogorovSf(-1)).toBe(1);
  });
});
