import { assertArmCounts, type ArmCounts } from './armCounts.js';
import { chiSquareSf, kolmogorovSf, normalQuantile, normalSf } from './distributions.js';
import { differenceVariance, type Interval } from './proportionTests.js';

/** Which effect size a drift test reports; every test result carries one. */
export type EffectMeasure = 'psi' | 'ks_d' | 'cramers_v' | 'accuracy_drop' | 'mmd';

/** An effect size with its measure, so a verdict can be taken on magnitude rather than p-value. */
export interface EffectSize {
  readonly measure: EffectMeasure;
  readonly value: number;
}

/** Conventional PSI bands: < 0.1 none, 0.1–0.25 warn, ≥ 0.25 significant. */
export type PsiLevel = 'none' | 'warn' | 'significant';

/** Population stability index between a reference and a current histogram. */
export interface PsiResult {
  readonly test: 'psi';
  readonly psi: number;
  readonly level: PsiLevel;
  /**
   * Approximate p-value of "same distribution": PSI is the symmetric KL divergence, and for two
   * multinomial samples of sizes R and C, PSI / (1/R + 1/C) ≈ χ²(k − 1) under H0.
   */
  readonly pValue: number;
  /** Buckets non-empty in at least one histogram. */
  readonly buckets: number;
  readonly effectSize: EffectSize;
}

/** Two-sample Kolmogorov–Smirnov test. */
export interface KsResult {
  readonly test: 'ks';
  /** D = sup |F_ref − F_cur|. */
  readonly statistic: number;
  readonly pValue: number;
  readonly n: number;
  readonly m: number;
  readonly effectSize: EffectSize;
}

/** Chi-square test of homogeneity of a contingency table (rows = samples, columns = categories). */
export interface ChiSquareResult {
  readonly test: 'chi_square';
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  /** Cramér's V = √(χ² / (N · min(r − 1, c − 1))), in [0, 1]. */
  readonly cramersV: number;
  readonly effectSize: EffectSize;
}

/** Accuracy drop between a reference window and a current window (concept drift). */
export interface AccuracyDropResult {
  readonly test: 'accuracy_drop';
  readonly referenceAccuracy: number;
  readonly currentAccuracy: number;
  /** referenceAccuracy − currentAccuracy, absolute (0.05 = 5 points); negative when accuracy rose. */
  readonly drop: number;
  readonly z: number;
  /** One-sided p-value of H0: current accuracy ≥ reference accuracy (pooled two-proportion z-test). */
  readonly pValue: number;
  /** Two-sided Wald interval for `drop` at the requested level. */
  readonly ci: Interval;
  readonly effectSize: EffectSize;
}

/** PSI level for a value, with the conventional thresholds by default. */
export function psiLevel(psi: number, thresholds: { warn?: number; significant?: number } = {}): PsiLevel {
  const warn = thresholds.warn ?? 0.1;
  const significant = thresholds.significant ?? 0.25;
  return psi >= significant ? 'significant' : psi >= warn ? 'warn' : 'none';
}

function assertCounts(name: string, counts: readonly number[]): number {
  let total = 0;
  for (const c of counts) {
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`${name} counts must be finite and ≥ 0, got ${c}`);
    total += c;
  }
  if (total <= 0) throw new RangeError(`${name} histogram is empty; collect events before comparing`);
  return total;
}

/**
 * Population stability index Σ (c_i − r_i) ln(c_i / r_i) over bucket proportions, with additive
 * `epsilon` smoothing of proportions (renormalised) so empty buckets give a finite value.
 * Inputs are counts over the same buckets.
 */
export function populationStabilityIndex(reference: readonly number[], current: readonly number[], options: { epsilon?: number } = {}): PsiResult {
  const epsilon = options.epsilon ?? 1e-4;
  if (reference.length !== current.length) throw new RangeError(`histograms need the same buckets, got ${reference.length} and ${current.length}`);
  if (!(epsilon >= 0)) throw new RangeError(`epsilon must be ≥ 0, got ${epsilon}`);
  const refTotal = assertCounts('reference', reference);
  const curTotal = assertCounts('current', current);
  const k = reference.length;
  let psi = 0;
  let buckets = 0;
  for (let i = 0; i < k; i++) {
    const r = reference[i] ?? 0;
    const c = current[i] ?? 0;
    if (r === 0 && c === 0) continue;
    buckets += 1;
    const p = (r / refTotal + epsilon) / (1 + k * epsilon);
    const q = (c / curTotal + epsilon) / (1 + k * epsilon);
    psi += (q - p) * Math.log(q / p);
  }
  const pValue = buckets < 2 ? 1 : chiSquareSf(psi / (1 / refTotal + 1 / curTotal), buckets - 1);
  return { test: 'psi', psi, level: psiLevel(psi), pValue, buckets, effectSize: { measure: 'psi', value: psi } };
}

/**
 * Jensen–Shannon divergence (base 2, in [0, 1]) between two count histograms over the same buckets.
 * Symmetric and finite without smoothing; √JSD is a metric.
 */
export function jensenShannonDivergence(reference: readonly number[], current: readonly number[]): number {
  if (reference.length !== current.length) throw new RangeError(`histograms need the same buckets, got ${reference.length} and ${current.length}`);
  const refTotal = assertCounts('reference', reference);
  const curTotal = assertCounts('current', current);
  let jsd = 0;
  for (let i = 0; i < reference.length; i++) {
    const p = (reference[i] ?? 0) / refTotal;
    const q = (current[i] ?? 0) / curTotal;
    const m = (p + q) / 2;
    if (p > 0) jsd += 0.5 * p * Math.log2(p / m);
    if (q > 0) jsd += 0.5 * q * Math.log2(q / m);
  }
  return Math.min(1, Math.max(0, jsd));
}

/**
 * Two-sample Kolmogorov–Smirnov test. Ties are handled by stepping both ECDFs past equal values.
 * The p-value is the asymptotic Kolmogorov law with Stephens' small-sample correction:
 * Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D), nₑ = nm/(n+m). With ties (discrete data) it is conservative.
 * O((n + m) log(n + m)); NaN values are dropped.
 */
export function kolmogorovSmirnovTest(reference: ArrayLike<number>, current: ArrayLike<number>): KsResult {
  return kolmogorovSmirnovSorted(sortFinite(reference), sortFinite(current));
}

/** Ascending copy without NaN, the input {@link kolmogorovSmirnovSorted} expects. */
export function sortFinite(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
}

/**
 * {@link kolmogorovSmirnovTest} on samples already sorted ascending (no NaN), so a fixed
 * reference window is sorted once, not at every evaluation.
 */
export function kolmogorovSmirnovSorted(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) throw new RangeError(`both samples must be non-empty, got n=${n}, m=${m}`);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    const x = Math.min(a[i] ?? 0, b[j] ?? 0);
    while (i < n && (a[i] ?? 0) <= x) i++;
    while (j < m && (b[j] ?? 0) <= x) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const ne = (n * m) / (n + m);
  const sqrtNe = Math.sqrt(ne);
  const pValue = kolmogorovSf((sqrtNe + 0.12 + 0.11 / sqrtNe) * d);
  return { test: 'ks', statistic: d, pValue, n, m, effectSize: { measure: 'ks_d', value: d } };
}

/**
 * Chi-square test of homogeneity: do the rows (e.g. reference and current windows) share one
 * distribution over the columns (e.g. predicted labels)? All-zero rows/columns are dropped.
 * Reports Cramér's V as the effect size, which unlike χ² does not grow with the sample size.
 */
export function chiSquareHomogeneity(table: readonly (readonly number[])[]): ChiSquareResult {
  const width = table[0]?.length ?? 0;
  if (table.length < 2 || table.some((row) => row.length !== width)) throw new RangeError('chiSquareHomogeneity needs ≥ 2 rows of equal length');
  for (const row of table) for (const c of row) if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`counts must be finite and ≥ 0, got ${c}`);
  const colTotals = Array.from({ length: width }, (_, j) => table.reduce((s, row) => s + (row[j] ?? 0), 0));
  const cols = colTotals.flatMap((t, j) => (t > 0 ? [j] : []));
  const rows = table.filter((row) => row.reduce((s, x) => s + x, 0) > 0);
  const total = colTotals.reduce((s, x) => s + x, 0);
  const none: ChiSquareResult = { test: 'chi_square', statistic: 0, df: 0, pValue: 1, cramersV: 0, effectSize: { measure: 'cramers_v', value: 0 } };
  if (rows.length < 2 || cols.length < 2) return none;
  let statistic = 0;
  for (const row of rows) {
    const rowTotal = row.reduce((s, x) => s + x, 0);
    for (const j of cols) {
      const expected = (rowTotal * (colTotals[j] ?? 0)) / total;
      statistic += ((row[j] ?? 0) - expected) ** 2 / expected;
    }
  }
  const df = (rows.length - 1) * (cols.length - 1);
  const cramersV = Math.min(1, Math.sqrt(statistic / (total * Math.min(rows.length - 1, cols.length - 1))));
  return { test: 'chi_square', statistic, df, pValue: chiSquareSf(statistic, df), cramersV, effectSize: { measure: 'cramers_v', value: cramersV } };
}

/**
 * Concept-drift check on labelled feedback: how many points accuracy fell from the reference window
 * to the current one, with a one-sided pooled two-proportion z-test and a Wald interval.
 */
export function accuracyDrop(reference: ArmCounts, current: ArmCounts, alpha = 0.05): AccuracyDropResult {
  assertArmCounts(reference, 'reference');
  assertArmCounts(current, 'current');
  if (reference.n === 0 || current.n === 0) throw new RangeError(`both windows need labelled outcomes, got n=${reference.n} and n=${current.n}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
  const referenceAccuracy = reference.successes / reference.n;
  const currentAccuracy = current.successes / current.n;
  const drop = referenceAccuracy - currentAccuracy;
  const pooled = (reference.successes + current.successes) / (reference.n + current.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / reference.n + 1 / current.n));
  const z = se > 0 ? drop / se : 0;
  const halfWidth = normalQuantile(1 - alpha / 2) * Math.sqrt(differenceVariance(reference, current));
  return {
    test: 'accuracy_drop',
    referenceAccuracy,
    currentAccuracy,
    drop,
    z,
    pValue: se > 0 ? normalSf(z) : 1, // se = 0 only when both windows are all right or all wrong
    ci: { lower: drop - halfWidth, upper: drop + halfWidth, level: 1 - alpha },
    effectSize: { measure: 'accuracy_drop', value: drop },
  };
}
