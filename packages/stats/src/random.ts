import { logGamma } from './distributions.js';

/** A source of uniform doubles in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a tiny seeded 32-bit PRNG (period 2³², passes gjrand/PractRand at the sizes our
 * simulations use). Deterministic for a given seed, so simulation tests are reproducible.
 */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One draw from N(mean, sd²) by the Box–Muller transform (one of the pair is discarded for simplicity). */
export function sampleNormal(rng: Rng, mean = 0, sd = 1): number {
  let u = rng();
  while (u === 0) u = rng(); // log(0) guard
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/**
 * One exact draw from Binomial(n, p). Inversion over the support enumerated outward from the
 * mode (m, m−1, m+1, m−2, …): any fixed enumeration order gives an exact sampler, and starting at
 * the mode needs O(√(np(1−p))) steps instead of O(np), with no underflow of (1−p)ⁿ for large n.
 */
export function sampleBinomial(rng: Rng, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sampleBinomial needs an integer n ≥ 0, got ${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`sampleBinomial needs p in [0, 1], got ${p}`);
  if (n === 0 || p === 0) return 0;
  if (p === 1) return n;
  const q = 1 - p;
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const pmfMode = Math.exp(
    logGamma(n + 1) - logGamma(mode + 1) - logGamma(n - mode + 1) + mode * Math.log(p) + (n - mode) * Math.log(q),
  );
  const u = rng();
  let cumulative = pmfMode;
  if (u < cumulative) return mode;
  let lo = mode;
  let hi = mode;
  let pmfLo = pmfMode;
  let pmfHi = pmfMode;
  while (lo > 0 || hi < n) {
    if (lo > 0) {
      pmfLo *= (lo / (n - lo + 1)) * (q / p);
      lo -= 1;
      cumulative += pmfLo;
      if (u < cumulative) return lo;
    }
    if (hi < n) {
      pmfHi *= ((n - hi) / (hi + 1)) * (p / q);
      hi += 1;
      cumulative += pmfHi;
      if (u < cumulative) return hi;
    }
  }
  return mode; // u fell in the rounding slack above the accumulated mass
}
