/**
 * bench:decide `shadow` rows — the paired (shadow) test against the unpaired A/B test.
 * Shadow: every labelled request is scored by both models, so one request is one sample in each
 * arm and the comparison is McNemar's on the disagreements. A/B: each request goes to one arm.
 * Both are looked at after every 100 samples per arm (continuous looking). Fixed seeds.
 */
import { decidePairedExperiment, type PairedExperimentConfig } from '../src/decidePairedExperiment.js';
import type { ExperimentConfig } from '../src/decideExperiment.js';
import { median, simulateExperiments } from '../src/internal/simulation.js';
import type { PairedCounts } from '../src/pairedSequentialTest.js';
import { mulberry32, type Rng } from '../src/random.js';

/** Joint outcome probabilities of one request scored by both models (sum to 1). */
export interface PairedScenario {
  readonly bothRight: number;
  readonly championOnly: number;
  readonly challengerOnly: number;
  readonly bothWrong: number;
}

/** 0.80 → 0.85 with realistic agreement: 91 % of answers agree, most disagreements favour the challenger. */
export const LIFT_5_POINTS: PairedScenario = { bothRight: 0.78, championOnly: 0.02, challengerOnly: 0.07, bothWrong: 0.13 };
/** A/A at 0.80: 7 % of answers disagree, evenly both ways. */
export const AA_80: PairedScenario = { bothRight: 0.765, championOnly: 0.035, challengerOnly: 0.035, bothWrong: 0.165 };

/** How one paired run ended: the decision and the pairs (= samples per arm) when it was made. */
export interface PairedRun {
  readonly decision: 'promote' | 'reject' | 'continue';
  readonly pairs: number;
}

/** Streams labelled pairs in batches, deciding after every batch, until a decision or `maxPairs`. */
export function simulatePaired(rng: Rng, s: PairedScenario, opts: { batch: number; maxPairs: number; config: Partial<PairedExperimentConfig> }): PairedRun {
  const t1 = s.bothRight;
  const t2 = t1 + s.championOnly;
  const t3 = t2 + s.challengerOnly;
  let counts: PairedCounts = { bothRight: 0, championOnly: 0, challengerOnly: 0, bothWrong: 0 };
  let pairs = 0;
  while (pairs < opts.maxPairs) {
    let { bothRight, championOnly, challengerOnly, bothWrong } = counts;
    for (let i = 0; i < opts.batch; i++) {
      const u = rng();
      if (u < t1) bothRight++;
      else if (u < t2) championOnly++;
      else if (u < t3) challengerOnly++;
      else bothWrong++;
    }
    counts = { bothRight, championOnly, challengerOnly, bothWrong };
    pairs += opts.batch;
    const d = decidePairedExperiment(counts, opts.config);
    if (d.decision !== 'continue') return { decision: d.decision, pairs };
  }
  return { decision: 'continue', pairs };
}

/** Median samples per arm to a correct decision: runs that decided wrongly or not at all count as never (∞). */
const medianToCorrect = (runs: readonly { correct: boolean; perArm: number }[]): number =>
  median(runs.map((r) => (r.correct ? r.perArm : Number.POSITIVE_INFINITY)));

export interface ShadowBenchResult {
  readonly rows: Array<[string, string, string]>;
  readonly json: Record<string, number>;
}

/** Runs the shadow comparison; `runs` per scenario. */
export function shadowBench(runs = 1000): ShadowBenchResult {
  const rows: Array<[string, string, string]> = [];
  const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
  const look = { batch: 100, maxPairs: 10_000 };
  const pairedRuns = (seed: number, s: PairedScenario, config: Partial<PairedExperimentConfig>): PairedRun[] => {
    const rng = mulberry32(seed);
    return Array.from({ length: runs }, () => simulatePaired(rng, s, { ...look, config }));
  };
  // Unpaired A/B at 50/50, a look every 100 per arm, ≤ 10,000 per arm: the existing rule.
  const unpaired = (seed: number, config: Partial<ExperimentConfig>) =>
    simulateExperiments(seed, runs, { championRate: 0.8, challengerRate: 0.85, batch: 200, challengerShare: 0.5, maxTotal: 20_000, config })
      .outcomes.map((o) => ({ correct: o.decision === 'promote', perArm: Math.min(o.championN, o.challengerN) }));

  // Each rule with its defaults (A/B: 1,000 per arm floor; shadow: 200 pairs).
  const pairedDefault = pairedRuns(901, LIFT_5_POINTS, {}).map((r) => ({ correct: r.decision === 'promote', perArm: r.pairs }));
  const unpairedDefault = unpaired(902, {});
  const pairedMedian = medianToCorrect(pairedDefault);
  const unpairedMedian = medianToCorrect(unpairedDefault);
  const ratio = pairedMedian / unpairedMedian;
  rows.push(['shadow: median samples/arm to promote (+5 pts), paired', `${pairedMedian} /arm`, `sequential McNemar, defaults (≥ 200 pairs), 91 % agreement; power ${pct(pairedDefault.filter((r) => r.correct).length / runs)}`]);
  rows.push(['shadow: same, unpaired A/B test', `${unpairedMedian} /arm`, `mSPRT defaults (≥ 1,000/arm), 50/50; power ${pct(unpairedDefault.filter((r) => r.correct).length / runs)}`]);
  rows.push(['shadow: paired / unpaired samples (goal ≤ 0.5)', ratio.toFixed(2), 'each rule with its own defaults']);

  // The tests alone, same floor (100 per arm) and no minimum lift: what pairing itself buys.
  const pairedPure = pairedRuns(903, LIFT_5_POINTS, { minPairs: 100, minImprovement: 0, maxDegradation: 0 }).map((r) => ({ correct: r.decision === 'promote', perArm: r.pairs }));
  const unpairedPure = unpaired(904, { minSamplePerArm: 100, minImprovement: 0, maxDegradation: 0 });
  const pureRatio = medianToCorrect(pairedPure) / medianToCorrect(unpairedPure);
  rows.push(['shadow: paired / unpaired, tests alone', pureRatio.toFixed(2), `same floor 100/arm, no min lift: ${medianToCorrect(pairedPure)} vs ${medianToCorrect(unpairedPure)} /arm`]);

  // A/A under continuous looking.
  const aa = pairedRuns(905, AA_80, {});
  const aaFalse = aa.filter((r) => r.decision === 'promote').length / runs;
  rows.push(['shadow: A/A false promotion (paired, defaults)', pct(aaFalse), `${runs} runs, look every 100 pairs, ≤ 10,000; median end ${median(aa.filter((r) => r.decision !== 'continue').map((r) => r.pairs))} pairs`]);
  const aaPure = pairedRuns(906, AA_80, { minPairs: 1, minImprovement: 0, maxDegradation: 0 });
  const aaPureFalse = aaPure.filter((r) => r.decision === 'promote').length / runs;
  rows.push(['shadow: A/A false promotion (test alone)', pct(aaPureFalse), 'no floor, no min lift: pure always-valid test, alpha 0.05 two-sided']);

  return {
    rows,
    json: {
      shadowPairedMedianSamplesPerArm: pairedMedian,
      shadowUnpairedMedianSamplesPerArm: unpairedMedian,
      shadowPairedToUnpairedRatio: Number(ratio.toFixed(3)),
      shadowPairedToUnpairedRatioTestsAlone: Number(pureRatio.toFixed(3)),
      shadowAaFalsePromotionRate: aaFalse,
      shadowAaFalsePromotionRateTestAlone: aaPureFalse,
    },
  };
}
