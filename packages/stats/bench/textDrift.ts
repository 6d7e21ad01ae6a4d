/**
 * bench:decide row `textDrift`: the drift-monitor's text statistics (text length and OOV rate: KS
 * and PSI; hashed-token PSI; MMD on hashed word n-grams) with thresholds calibrated on the
 * reference (calibrateTextDrift) and the effect floors, on shipped text: the false-alarm rate over
 * stationary windows, and the delay until a new category at `newShare` of the traffic is flagged.
 * The features mirror services/drift-monitor (textFeatures.ts, textReference.ts) and its defaults.
 */
import { createFeaturizer, tokenize, type Featurizer } from '@flywheel/learning';
import { calibrateTextDrift, type CalibratedThreshold, type TextDriftStatistic } from '../src/calibrateThresholds.js';
import { compareCounts, compareNumeric, driftVerdict, numericReference, type DriftSignal, type NumericReference } from '../src/driftVerdict.js';
import { fnv1a32, murmur3_32 } from '../src/hash.js';
import { EmbeddingSum, mmdTest } from '../src/mmd.js';
import { mulberry32 } from '../src/random.js';
import { loadShippedText, shuffled, type ShippedText } from './shippedText.js';

/** The drift-monitor's defaults: 32 token buckets; MMD over word uni/bigrams hashed into 2¹⁴. */
const TOKEN_BUCKETS = 32;
const EMBEDDING = { buckets: 1 << 14, maxFeatures: 64, wordNgrams: 2, charNgramMin: 0, charNgramMax: 0 };

type Mode = 'calibrated' | 'fixed';

interface Reference {
  vocabulary: Set<string>;
  textLength: NumericReference;
  oovRate: NumericReference;
  tokenBuckets: number[];
  embedding: EmbeddingSum;
  thresholds: Record<TextDriftStatistic, CalibratedThreshold>;
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return xs.length === 0 ? 0 : s / xs.length;
};
const bucketsOf = (tokens: readonly string[]): number[] => tokens.map((t) => fnv1a32(t) % TOKEN_BUCKETS);
const oov = (tokens: readonly string[], vocabulary: ReadonlySet<string>): number => (tokens.length === 0 ? 0 : tokens.filter((t) => !vocabulary.has(t)).length / tokens.length);

function buildReference(texts: readonly string[], featurizer: Featurizer, windowSize: number, familyAlpha: number, seed: number): Reference {
  const tokens = texts.map(tokenize);
  const side = texts.map((t) => murmur3_32(t.trim().toLowerCase()) & 1);
  const vocabulary = new Set<string>();
  tokens.forEach((ts, i) => side[i] === 0 && ts.forEach((t) => vocabulary.add(t)));
  const oovValues = tokens.filter((_, i) => side[i] === 1).map((ts) => oov(ts, vocabulary));
  const lengths = texts.map((t) => t.length);
  const rowBuckets = tokens.map(bucketsOf);
  const tokenBuckets = new Array<number>(TOKEN_BUCKETS).fill(0);
  for (const row of rowBuckets) for (const b of row) tokenBuckets[b]! += 1;
  const rows = featurizer.featurize(texts);
  const textLength = numericReference(lengths);
  const oovRate = numericReference(oovValues);
  const thresholds = calibrateTextDrift(
    { textLength: lengths, textLengthEdges: textLength.edges, oovRate: oovValues, oovRateEdges: oovRate.edges, tokenBuckets: rowBuckets, buckets: TOKEN_BUCKETS, embedding: rows, dims: EMBEDDING.buckets },
    windowSize,
    { familyAlpha, rng: mulberry32(seed) },
  );
  return { vocabulary, textLength, oovRate, tokenBuckets, embedding: new EmbeddingSum(EMBEDDING.buckets).addRows(rows), thresholds };
}

/**
 * Whether a window of texts is significant drift against the reference (any text statistic).
 * `fixed`: the monitor before calibration — fixed PSI 0.25 / KS D 0.1 cut-offs with p < 0.01, no MMD.
 */
function drifted(ref: Reference, texts: readonly string[], featurizer: Featurizer, mode: Mode): { drifted: boolean; by: string[] } {
  const tokens = texts.map(tokenize);
  const window = new Array<number>(TOKEN_BUCKETS).fill(0);
  for (const ts of tokens) for (const b of bucketsOf(ts)) window[b]! += 1;
  const embedding = new EmbeddingSum(EMBEDDING.buckets).addRows(featurizer.featurize(texts));
  const t = ref.thresholds;
  const [lengthPsi, lengthKs] = compareNumeric('text_length', ref.textLength, texts.map((x) => x.length));
  const oovValues = tokens.map((ts) => oov(ts, ref.vocabulary));
  const [oovPsi, oovKs] = compareNumeric('oov_rate', ref.oovRate, oovValues);
  // As in the monitor: only more unseen words than the reference is drift (repeated texts make traffic read lower).
  const oovRose = mean(oovValues) > mean(ref.oovRate.sorted);
  const mmd = mmdTest(ref.embedding, embedding, t['text_embedding/mmd'].nulls);
  if (mode === 'fixed') {
    const old = [compareCounts('hashed_tokens', ref.tokenBuckets, window)[0]!, lengthPsi!, lengthKs!, oovPsi!, oovKs!];
    const verdict = driftVerdict(old);
    return { drifted: verdict.drifted, by: verdict.findings.filter((f) => f.level === 'significant').map((f) => `${f.feature}/${f.test}`) };
  }
  const signals: DriftSignal[] = [
    { ...compareCounts('hashed_tokens', ref.tokenBuckets, window)[0]!, threshold: t['hashed_tokens/psi'] },
    { ...lengthPsi!, threshold: t['text_length/psi'] },
    { ...lengthKs!, threshold: t['text_length/ks'] },
    ...(oovRose ? [{ ...oovPsi!, threshold: t['oov_rate/psi'] }, { ...oovKs!, threshold: t['oov_rate/ks'] }] : []),
    { feature: 'text_embedding', result: mmd, threshold: t['text_embedding/mmd'] },
  ];
  const verdict = driftVerdict(signals);
  return { drifted: verdict.drifted, by: verdict.findings.filter((f) => f.level === 'significant').map((f) => `${f.feature}/${f.test}`) };
}

export interface TextDriftDatasetResult {
  dataset: string;
  mode: Mode;
  newCategory: string;
  stationaryWindows: number;
  falseAlarmRate: number;
  /** Median events from the shift's start to the first alarm (sliding window, evaluated every `evaluateEvery`). */
  detectionDelayEvents: number | null;
  detectedRuns: number;
  runs: number;
  mmdThreshold: number;
  /** How many first alarms of the detection runs each statistic took part in. */
  detectedBy: Record<string, number>;
}

/** Runs the row on both datasets. */
export async function benchTextDrift(
  options: { referenceSize?: number; windowSize?: number; stationaryWindows?: number; runs?: number; newShare?: number; evaluateEvery?: number; familyAlpha?: number; maxEvents?: number; datasets?: ShippedText[] } = {},
): Promise<TextDriftDatasetResult[]> {
  const referenceSize = options.referenceSize ?? 5000;
  const windowSize = options.windowSize ?? 1000;
  const stationaryWindows = options.stationaryWindows ?? 200;
  const runs = options.runs ?? 20;
  const newShare = options.newShare ?? 0.1;
  const evaluateEvery = options.evaluateEvery ?? 100;
  const familyAlpha = options.familyAlpha ?? 0.05;
  const maxEvents = options.maxEvents ?? 5000;
  const featurizer = createFeaturizer(EMBEDDING);
  const sets = options.datasets ?? (await loadShippedText());
  return sets.flatMap((set, s) => (['calibrated', 'fixed'] as const).map((mode) => {
    const rng = mulberry32(7300 + s);
    const pool = shuffled(set.known.map((e) => e.text), rng);
    const reference = pool.slice(0, referenceSize);
    const rest = pool.slice(referenceSize);
    const ref = buildReference(reference, featurizer, windowSize, familyAlpha, 31 + s);
    let alarms = 0;
    for (let w = 0; w < stationaryWindows; w++) if (drifted(ref, shuffled(rest, rng).slice(0, windowSize), featurizer, mode).drifted) alarms++;
    const delays: number[] = [];
    const detectedBy: Record<string, number> = {};
    for (let r = 0; r < runs; r++) {
      const known = shuffled(rest, rng);
      const fresh = shuffled(set.held.map((e) => e.text), rng);
      let k = 0;
      let h = 0;
      const stream = known.slice(0, windowSize); // the window before the shift: stationary
      k = windowSize;
      for (let t = 1; t <= maxEvents; t++) {
        stream.push(rng() < newShare ? fresh[h++ % fresh.length]! : known[k++ % known.length]!);
        if (t % evaluateEvery !== 0) continue;
        const v = drifted(ref, stream.slice(-windowSize), featurizer, mode);
        if (v.drifted) {
          delays.push(t);
          for (const b of v.by) detectedBy[b] = (detectedBy[b] ?? 0) + 1;
          break;
        }
      }
    }
    delays.sort((a, b) => a - b);
    return {
      dataset: set.name,
      mode,
      newCategory: set.heldLabel,
      stationaryWindows,
      falseAlarmRate: alarms / stationaryWindows,
      detectionDelayEvents: delays.length > 0 ? (delays.length * 2 >= runs ? delays[Math.floor((runs - 1) / 2)]! : null) : null,
      detectedRuns: delays.length,
      runs,
      mmdThreshold: Number(ref.thresholds['text_embedding/mmd'].value.toFixed(4)),
      detectedBy,
    };
  }));
}

/** bench:decide's table rows and JSON key for `textDrift` (goal: false alarms ≤ 5 %). */
export async function textDriftBench(datasets?: ShippedText[]): Promise<{ rows: Array<[string, string, string]>; json: { textDrift: unknown } }> {
  const results = await benchTextDrift(datasets ? { datasets } : {});
  const rows: Array<[string, string, string]> = results.flatMap((r): Array<[string, string, string]> =>
    r.mode === 'calibrated'
      ? [
          [`text drift false alarms, calibrated (${r.dataset})`, `${(100 * r.falseAlarmRate).toFixed(1)} %`, `goal ≤ 5 %; ${r.stationaryWindows} stationary windows of 1,000 real texts vs a 5,000-text reference, family α 0.05`],
          [`text drift delay, new category at 10 % (${r.dataset})`, `${r.detectionDelayEvents ?? 'n/a'} events`, `median of ${r.runs} runs ("${r.newCategory}" never in the reference), detected in ${r.detectedRuns}; eval every 100; MMD threshold ${r.mmdThreshold}; first alarms by ${Object.entries(r.detectedBy).map(([k, v]) => `${k} ${v}`).join(', ')}`],
        ]
      : [[`  same, fixed cut-offs, no MMD (before) (${r.dataset})`, `${(100 * r.falseAlarmRate).toFixed(1)} % / ${r.detectionDelayEvents ?? 'n/a'} events`, `false alarms / median delay; detected in ${r.detectedRuns} of ${r.runs} within ${5000} events`]],
  );
  const calibrated = results.filter((r) => r.mode === 'calibrated');
  const fixed = results.filter((r) => r.mode === 'fixed');
  return { rows, json: { textDrift: { goalFalseAlarmRate: 0.05, datasets: calibrated, fixedCutOffsBefore: fixed } } };
}
