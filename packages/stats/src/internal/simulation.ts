// Kept whole (about 300 lines): one simulation engine for the tests and bench/decide; its parts share one seeded random stream.
/**
 * Monte-Carlo harness shared by the simulation tests and bench/decide.ts. Not part of the public
 * API (`./internal/*` is blocked in the exports map).
 */
import type { ArmCounts } from '../armCounts.js';
import { decideExperiment, type Decision, type DecisionReasonCode, type ExperimentConfig } from '../decideExperiment.js';
import {
  compareAccuracy,
  compareCategories,
  compareCounts,
  compareNumeric,
  driftVerdict,
  numericReference,
  type DriftThresholds,
  type DriftVerdict,
  type NumericReference,
} from '../driftVerdict.js';
import { murmur3_32 } from '../hash.js';
import { bucketCounts, countCategories } from '../histogram.js';
import { mulberry32, sampleBinomial, sampleNormal, type Rng } from '../random.js';
import { checkSampleRatio } from '../sampleRatioMismatch.js';

// ---------------------------------------------------------------- A/B experiments

/** One simulated experiment: Bernoulli outcomes arriving in batches, decided after every batch. */
export interface AbScenario {
  readonly championRate: number;
  readonly challengerRate: number;
  /** Outcomes per batch (both arms together); the decision runs after every batch. */
  readonly batch: number;
  /** Challenger's true share of traffic. */
  readonly challengerShare: number;
  /** Stop undecided after this many outcomes in total. */
  readonly maxTotal: number;
  readonly config: Partial<ExperimentConfig>;
}

/** How one simulated experiment ended. */
export interface AbRun {
  /** 'continue' = undecided at maxTotal. */
  readonly decision: Decision;
  readonly reason: DecisionReasonCode | null;
  /** Outcomes in both arms when it stopped. */
  readonly total: number;
  readonly championN: number;
  readonly challengerN: number;
}

/** Runs one experiment under continuous monitoring until the first non-`continue` decision. */
export function simulateExperiment(rng: Rng, s: AbScenario): AbRun {
  let champion: ArmCounts = { n: 0, successes: 0 };
  let challenger: ArmCounts = { n: 0, successes: 0 };
  while (champion.n + challenger.n < s.maxTotal) {
    const toChallenger = sampleBinomial(rng, s.batch, s.challengerShare);
    const toChampion = s.batch - toChallenger;
    champion = { n: champion.n + toChampion, successes: champion.successes + sampleBinomial(rng, toChampion, s.championRate) };
    challenger = { n: challenger.n + toChallenger, successes: challenger.successes + sampleBinomial(rng, toChallenger, s.challengerRate) };
    const d = decideExperiment({ champion, challenger }, s.config);
    if (d.decision !== 'continue') {
      return { decision: d.decision, reason: d.reasons[0]?.code ?? null, total: champion.n + challenger.n, championN: champion.n, challengerN: challenger.n };
    }
  }
  return { decision: 'continue', reason: null, total: champion.n + challenger.n, championN: champion.n, challengerN: challenger.n };
}

/** Aggregate of many simulated experiments. */
export interface AbSummary {
  readonly runs: number;
  readonly promoteRate: number;
  readonly rejectRate: number;
  readonly undecidedRate: number;
  /** Median outcomes per arm (smaller arm) at the decision, over decided runs; NaN if none decided. */
  readonly medianPerArmAtDecision: number;
  /** Median outcomes per arm at promotion, over promoted runs; NaN if none. */
  readonly medianPerArmAtPromotion: number;
  readonly outcomes: readonly AbRun[];
}

/** Median of a list (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs `runs` independent experiments from one seed. */
export function simulateExperiments(seed: number, runs: number, s: AbScenario): AbSummary {
  const rng = mulberry32(seed);
  const outcomes = Array.from({ length: runs }, () => simulateExperiment(rng, s));
  const rate = (d: Decision): number => outcomes.filter((o) => o.decision === d).length / runs;
  const perArm = (o: AbRun): number => Math.min(o.championN, o.challengerN);
  return {
    runs,
    promoteRate: rate('promote'),
    rejectRate: rate('reject'),
    undecidedRate: rate('continue'),
    medianPerArmAtDecision: median(outcomes.filter((o) => o.decision !== 'continue').map(perArm)),
    medianPerArmAtPromotion: median(outcomes.filter((o) => o.decision === 'promote').map(perArm)),
    outcomes,
  };
}

/** Streams assignments with a true challenger share, checking SRM after every batch; returns the total at the first halt or null. */
export function simulateSrm(rng: Rng, s: { trueChallengerShare: number; configuredChallengerBp: number; batch: number; maxTotal: number }): number | null {
  let champion = 0;
  let challenger = 0;
  while (champion + challenger < s.maxTotal) {
    const c = sampleBinomial(rng, s.batch, s.trueChallengerShare);
    challenger += c;
    champion += s.batch - c;
    if (checkSampleRatio(champion, challenger, { challengerBp: s.configuredChallengerBp }).halt) return champion + challenger;
  }
  return null;
}

// ---------------------------------------------------------------- drift

/** A synthetic prediction as the drift-monitor would see it. */
export interface PredictionEvent {
  /** Hashed feature ids of the tokens: [tokens]. */
  readonly featureIds: Uint32Array;
  readonly textLength: number;
  /** Share of tokens outside the model's vocabulary. */
  readonly oovRate: number;
  readonly confidence: number;
  readonly label: string;
  /** Whether the prediction was right (known once feedback arrives). */
  readonly correct: boolean;
}

const VOCABULARY = 10_000;
/** Words [0, KNOWN_WORDS) are in the model's vocabulary; the rest are OOV. */
const KNOWN_WORDS = 4_000;
const FEATURE_DIM = 1 << 18;
const LABELS = ['billing', 'bug', 'feature', 'praise', 'other'] as const;
const LABEL_WEIGHTS = [0.35, 0.25, 0.2, 0.12, 0.08] as const;

function zipfCumulative(size: number, exponent: number): Float64Array {
  const cumulative = new Float64Array(size);
  let total = 0;
  for (let i = 0; i < size; i++) {
    total += 1 / (i + 1) ** exponent;
    cumulative[i] = total;
  }
  for (let i = 0; i < size; i++) cumulative[i] = (cumulative[i] ?? 0) / total;
  return cumulative;
}

function sampleCumulative(rng: Rng, cumulative: Float64Array): number {
  const u = rng();
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cumulative[mid] ?? 1) <= u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What changes in the stream. */
export interface StreamShift {
  /** Share of tokens drawn from a new topic's vocabulary (words outside the model's vocabulary). */
  readonly newVocabularyShare: number;
}

/** Generator of synthetic predictions; `shift` null = the reference distribution. */
export function createPredictionStream(rng: Rng): (shift: StreamShift | null) => PredictionEvent {
  const known = zipfCumulative(KNOWN_WORDS, 1.05);
  const newTopic = zipfCumulative(2_000, 1.05);
  const labelCumulative = Float64Array.from(LABEL_WEIGHTS.map((_, i) => LABEL_WEIGHTS.slice(0, i + 1).reduce((s, w) => s + w, 0)));
  const featureOf = Uint32Array.from({ length: VOCABULARY }, (_, w) => murmur3_32(`word-${w}`) % FEATURE_DIM);
  return (shift) => {
    const length = Math.max(1, Math.round(Math.exp(sampleNormal(rng, 2.4, 0.5))));
    const featureIds = new Uint32Array(length);
    let oov = 0;
    for (let t = 0; t < length; t++) {
      let word: number;
      const u = rng();
      if (shift !== null && u < shift.newVocabularyShare) word = 6_000 + sampleCumulative(rng, newTopic);
      else if (rng() < 0.03) word = KNOWN_WORDS + Math.floor(rng() * (VOCABULARY - KNOWN_WORDS)); // rare OOV words
      else word = sampleCumulative(rng, known);
      if (word >= KNOWN_WORDS) oov += 1;
      featureIds[t] = featureOf[word] ?? 0;
    }
    const oovRate = oov / length;
    // Unknown words make the model less sure and less often right.
    const confidence = 1 / (1 + Math.exp(-sampleNormal(rng, 2.2 - 2 * oovRate, 1)));
    const label = LABELS[sampleCumulative(rng, labelCumulative)] ?? 'other';
    const correct = rng() < 0.88 - 0.4 * oovRate;
    return { featureIds, textLength: length, oovRate, confidence, label, correct };
  };
}

/** Buckets the hashed feature space is folded into for PSI / chi-square. */
export const FEATURE_BUCKETS = 64;

/** Everything one window of predictions contributes to the drift tests. */
export interface WindowSummary {
  readonly featureBuckets: number[];
  readonly textLength: Float64Array | NumericReference;
  readonly oovRate: Float64Array | NumericReference;
  readonly confidence: Float64Array | NumericReference;
  readonly labels: Map<string, number>;
  readonly accuracy: ArmCounts;
}

/** Builds the histograms and numeric columns of a window: [events] → per-test inputs. */
export function summarizeWindow(events: readonly PredictionEvent[]): WindowSummary {
  let tokens = 0;
  for (const e of events) tokens += e.featureIds.length;
  const ids = new Uint32Array(tokens);
  let offset = 0;
  let correct = 0;
  for (const e of events) {
    ids.set(e.featureIds, offset);
    offset += e.featureIds.length;
    if (e.correct) correct += 1;
  }
  return {
    featureBuckets: bucketCounts(ids, FEATURE_BUCKETS),
    textLength: Float64Array.from(events, (e) => e.textLength),
    oovRate: Float64Array.from(events, (e) => e.oovRate),
    confidence: Float64Array.from(events, (e) => e.confidence),
    labels: countCategories(events.map((e) => e.label)),
    accuracy: { n: events.length, successes: correct },
  };
}

/** A window summary whose numeric columns are sorted and bucketed once, for use as the reference. */
export function asReference(window: WindowSummary): WindowSummary {
  const prepare = (x: Float64Array | NumericReference): NumericReference => (x instanceof Float64Array ? numericReference(x) : x);
  return { ...window, textLength: prepare(window.textLength), oovRate: prepare(window.oovRate), confidence: prepare(window.confidence) };
}

/** Runs every drift test between a reference and a current window and takes the verdict. */
export function evaluateDrift(reference: WindowSummary, current: WindowSummary, thresholds: Partial<DriftThresholds> = {}): DriftVerdict {
  return driftVerdict(
    [
      ...compareCounts('hashed_features', reference.featureBuckets, current.featureBuckets),
      ...compareNumeric('text_length', reference.textLength, numeric(current.textLength)),
      ...compareNumeric('oov_rate', reference.oovRate, numeric(current.oovRate)),
      ...compareNumeric('confidence', reference.confidence, numeric(current.confidence)),
      ...compareCategories('predicted_label', reference.labels, current.labels),
      compareAccuracy('accuracy', reference.accuracy, current.accuracy),
    ],
    thresholds,
  );
}

function numeric(x: Float64Array | NumericReference): ArrayLike<number> {
  return x instanceof Float64Array ? x : x.sorted;
}

/** A monitored stream: a reference window, then a stationary stretch, then (optionally) a shift. */
export interface DriftScenario {
  readonly referenceEvents: number;
  /** Sliding window the monitor compares with the reference. */
  readonly windowEvents: number;
  readonly evaluateEvery: number;
  readonly stationaryEvents: number;
  readonly shiftedEvents: number;
  readonly shift: StreamShift | null;
}

/** What a monitored stream produced. */
export interface DriftRun {
  /** Any significant verdict during the stationary stretch. */
  readonly falseAlarm: boolean;
  /** Events after the shift until the first significant verdict (null: never, or no shift). */
  readonly detectionDelay: number | null;
  /** Events after the shift until a PSI finding is significant (null: never). */
  readonly psiDetectionDelay: number | null;
  /** `feature:test` of the significant findings at the first detection. */
  readonly detectedBy: readonly string[];
}

/** Simulates the drift-monitor loop: evaluate the last `windowEvents` events every `evaluateEvery` events. */
export function simulateDriftMonitor(rng: Rng, s: DriftScenario): DriftRun {
  const next = createPredictionStream(rng);
  const reference = asReference(summarizeWindow(Array.from({ length: s.referenceEvents }, () => next(null))));
  const stream: PredictionEvent[] = [];
  let falseAlarm = false;
  let detectionDelay: number | null = null;
  let psiDetectionDelay: number | null = null;
  let detectedBy: string[] = [];
  const total = s.stationaryEvents + s.shiftedEvents;
  for (let i = 0; i < total && psiDetectionDelay === null; i++) {
    const shifted = i >= s.stationaryEvents;
    stream.push(next(shifted ? s.shift : null));
    if ((i + 1) % s.evaluateEvery !== 0 || stream.length < s.windowEvents) continue;
    const verdict = evaluateDrift(reference, summarizeWindow(stream.slice(-s.windowEvents)));
    if (!verdict.drifted) continue;
    if (!shifted) {
      falseAlarm = true;
      continue;
    }
    const significant = verdict.findings.filter((f) => f.level === 'significant');
    if (detectionDelay === null) {
      detectionDelay = i + 1 - s.stationaryEvents;
      detectedBy = significant.map((f) => `${f.feature}:${f.test}`);
    }
    if (significant.some((f) => f.test === 'psi')) psiDetectionDelay = i + 1 - s.stationaryEvents;
  }
  return { falseAlarm, detectionDelay, psiDetectionDelay, detectedBy };
}
