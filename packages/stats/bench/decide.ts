/**
 * bench:decide — operating characteristics of the A/B decision rule and the drift verdict.
 * Prints a table, then ONE JSON object as the last line. Fixed seeds: the numbers are reproducible.
 * Run: pnpm bench:decide   (tsx packages/stats/bench/decide.ts)
 */
import { performance } from 'node:perf_hooks';
import {
  asReference,
  createPredictionStream,
  evaluateDrift,
  median,
  simulateDriftMonitor,
  simulateExperiments,
  summarizeWindow,
  type AbScenario,
} from '../src/internal/simulation.js';
import { mulberry32 } from '../src/random.js';
import { shadowBench } from './shadow.js';
import { cbpeBench } from './cbpe.js';
import { loadShippedText } from './shippedText.js';
import { textDriftBench } from './textDrift.js';

const started = performance.now();
const rows: Array<[string, string, string]> = [];
const row = (metric: string, value: string, setup: string): void => {
  rows.push([metric, value, setup]);
};
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

// ---------------------------------------------------------------- A/B
const AB_RUNS = 1000;
const monitored = (overrides: Partial<AbScenario>): AbScenario => ({
  championRate: 0.8,
  challengerRate: 0.8,
  batch: 200, // a decision after every 100 outcomes per arm
  challengerShare: 0.5,
  maxTotal: 20_000,
  config: {},
  ...overrides,
});

const aa = simulateExperiments(1, AB_RUNS, monitored({}));
row('A/A false promotion (sequential, defaults)', pct(aa.promoteRate), `${AB_RUNS} runs, look every 100/arm, ≤ 10,000/arm`);
row('A/A median samples to decision', `${aa.medianPerArmAtDecision} /arm`, 'ends by futility (2-pt minimum implausible)');
const aaSeqOnly = simulateExperiments(2, AB_RUNS, monitored({ config: { minImprovement: 0, maxDegradation: 0, minSamplePerArm: 100 } }));
row('A/A false promotion (sequential, no min lift)', pct(aaSeqOnly.promoteRate), 'pure mSPRT validity, alpha 0.05');
const naive = simulateExperiments(2, AB_RUNS, monitored({ config: { method: 'fixed', minImprovement: 0, maxDegradation: 0, minSamplePerArm: 100 } }));
row('A/A false promotion (naive z-test peeking)', pct(naive.promoteRate), 'same data, fixed test at every look');

const lift = simulateExperiments(3, AB_RUNS, monitored({ challengerRate: 0.85, maxTotal: 10_000 }));
const promotedAt = lift.outcomes.filter((o) => o.decision === 'promote').map((o) => o.championN).sort((a, b) => a - b);
row('power at +5 pts (0.80 → 0.85)', pct(lift.promoteRate), `${AB_RUNS} runs, 50/50, ≤ 5,000/arm`);
row('median samples to decision (+5 pts)', `${lift.medianPerArmAtDecision} /arm`, `p90 ${promotedAt[Math.floor(0.9 * promotedAt.length)] ?? 'n/a'} /arm`);
const degrade = simulateExperiments(4, AB_RUNS, monitored({ challengerRate: 0.75, maxTotal: 10_000 }));
row('−5 pts challenger rejected', pct(degrade.rejectRate), `median ${degrade.medianPerArmAtDecision} /arm, promoted ${pct(degrade.promoteRate)}`);

// ---------------------------------------------------------------- shadow (paired)
const shadow = shadowBench(AB_RUNS);
rows.push(...shadow.rows);

// ---------------------------------------------------------------- drift
const DETECTION_RUNS = 50;
const detections = Array.from({ length: DETECTION_RUNS }, (_, i) =>
  simulateDriftMonitor(mulberry32(500 + i), {
    referenceEvents: 5000,
    windowEvents: 1000,
    evaluateEvery: 100,
    stationaryEvents: 1000,
    shiftedEvents: 3000,
    shift: { newVocabularyShare: 0.3 },
  }),
);
const psiDelay = median(detections.map((d) => d.psiDetectionDelay ?? Number.POSITIVE_INFINITY));
const anyDelay = median(detections.map((d) => d.detectionDelay ?? Number.POSITIVE_INFINITY));
row('drift detection delay, PSI (events)', `${psiDelay}`, '30 % new-topic tokens; 1,000-event window, eval every 100');
row('drift detection delay, any test (events)', `${anyDelay}`, `detected in ${pct(detections.filter((d) => d.detectionDelay !== null).length / DETECTION_RUNS)} of ${DETECTION_RUNS} runs`);

const STATIONARY_RUNS = 200;
let falseAlarms = 0;
for (let i = 0; i < STATIONARY_RUNS; i++) {
  const run = simulateDriftMonitor(mulberry32(1000 + i), {
    referenceEvents: 5000,
    windowEvents: 1000,
    evaluateEvery: 1000,
    stationaryEvents: 10_000,
    shiftedEvents: 0,
    shift: null,
  });
  if (run.falseAlarm) falseAlarms += 1;
}
const falseAlarmRate = falseAlarms / STATIONARY_RUNS;
row('drift false-alarm rate (stationary)', pct(falseAlarmRate), `${STATIONARY_RUNS} runs × 10 windows of 1,000`);

const next = createPredictionStream(mulberry32(77));
const refEvents = Array.from({ length: 100_000 }, () => next(null));
const curEvents = Array.from({ length: 100_000 }, () => next({ newVocabularyShare: 0.1 }));
const timings: number[] = [];
let lastLevel = 'none';
for (let rep = 0; rep < 5; rep++) {
  const t0 = performance.now();
  const reference = asReference(summarizeWindow(refEvents));
  const verdict = evaluateDrift(reference, summarizeWindow(curEvents));
  timings.push(performance.now() - t0);
  lastLevel = verdict.level;
}
const evalMs = median(timings);
row('one drift evaluation, 100k vs 100k predictions', `${evalMs.toFixed(1)} ms`, `histograms + PSI/KS/χ²/accuracy; median of 5; verdict ${lastLevel}`);

// ---------------------------------------------------------------- accuracy before labels, text drift (shipped data)
const shipped = await loadShippedText();
const cbpe = await cbpeBench(shipped);
rows.push(...cbpe.rows);
const textDrift = await textDriftBench(shipped);
rows.push(...textDrift.rows);

// ---------------------------------------------------------------- output
const widths = [0, 1, 2].map((c) => Math.max(...[['metric', 'value', 'setup'], ...rows].map((r) => (r[c] ?? '').length)));
const line = (r: readonly string[]): string => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join(' | ');
console.log(line(['metric', 'value', 'setup']));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));
console.log(`(total ${((performance.now() - started) / 1000).toFixed(1)} s)`);
console.log(
  JSON.stringify({
    aaFalsePromotionRate: aa.promoteRate,
    aaFalsePromotionRateNaivePeeking: naive.promoteRate,
    powerAt5PointLift: lift.promoteRate,
    medianSamplesToDecisionPerArm: lift.medianPerArmAtDecision,
    driftDetectionDelayEvents: psiDelay,
    driftFalseAlarmRate: falseAlarmRate,
    driftEvaluationMs100k: Number(evalMs.toFixed(1)),
    ...cbpe.json,
    ...textDrift.json,
    ...shadow.json,
  }),
);
