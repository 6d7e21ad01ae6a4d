import {
  calibrateTextDrift,
  EmbeddingSum,
  mulberry32,
  murmur3_32,
  numericReference,
  type CalibratedThreshold,
  type NumericReference,
  type TextDriftSample,
  type TextDriftStatistic,
} from '@flywheel/stats';
import { createTextEmbedder, oovRate, TEXT_EMBEDDING_DIMS, tokenBucket, tokenize } from './textFeatures.js';

/** A labelled text: a training row, or a prediction with its predicted label. */
export interface LabelledText {
  text: string;
  label: string;
}

/** The input-side reference of a version: what its texts and labels look like. */
export interface TextReference {
  /** Rows the reference was built from. */
  size: number;
  vocabulary: ReadonlySet<string>;
  textLength: NumericReference;
  oovRate: NumericReference;
  /** Token counts per hashed bucket: [buckets]. */
  tokenBuckets: number[];
  labels: Map<string, number>;
  /** Sum of the texts' unit-length hashed n-gram vectors: the MMD side of the reference. */
  embedding: EmbeddingSum;
  /** Per-text features of at most CALIBRATION_ROWS texts, to calibrate thresholds for any window size. */
  calibration: TextDriftSample;
  /** Calibrated thresholds by window size (textThresholds fills it). */
  thresholds: Map<number, Record<TextDriftStatistic, CalibratedThreshold>>;
}

/** Texts kept per reference for calibration (memory: ~0.5 KB each). */
const CALIBRATION_ROWS = 20_000;
const EMBED_CHUNK = 1_000;

const VOCABULARY_CAP = 200_000;

/**
 * Builds the text reference from labelled rows. The vocabulary comes from one half of the texts and
 * the reference OOV distribution from the other half measured against it, so the reference OOV rate
 * is not 0 by construction (which would flag every window). The halves are drawn by text hash, not
 * first/second half: training snapshots are stored in blocks (old rows, then fresh ones).
 */
export const buildTextReference = (rows: readonly LabelledText[], buckets: number): TextReference => {
  if (rows.length === 0) throw new RangeError('a text reference needs at least one row');
  const tokens = rows.map((r) => tokenize(r.text));
  // Halves by the text's hash, not by position: a text repeated in the snapshot (the same traffic
  // confirmed twice, replayed rows) stays on one side, or it would make the reference OOV rate too low.
  const side = rows.map((r) => murmur3_32(r.text.trim().toLowerCase()) & 1); // murmur: FNV's low bit is only a byte parity
  const vocabulary = new Set<string>();
  for (let i = 0; i < tokens.length; i++) if (side[i] === 0) for (const w of tokens[i]!) if (vocabulary.size < VOCABULARY_CAP) vocabulary.add(w);
  const heldOut = tokens.filter((_, i) => side[i] === 1);
  const tokenBuckets = new Array<number>(buckets).fill(0);
  const labels = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) {
    for (const w of tokens[i]!) tokenBuckets[tokenBucket(w, buckets)]! += 1;
    const label = rows[i]!.label;
    labels.set(label, (labels.get(label) ?? 0) + 1);
  }
  const textLength = numericReference(rows.map((r) => r.text.length));
  const oovRates = numericReference((heldOut.length > 0 ? heldOut : tokens).map((t) => oovRate(t, vocabulary)));
  const embedder = createTextEmbedder();
  const embedding = new EmbeddingSum(TEXT_EMBEDDING_DIMS);
  for (let i = 0; i < rows.length; i += EMBED_CHUNK) embedding.addRows(embedder.featurize(rows.slice(i, i + EMBED_CHUNK).map((r) => r.text)));
  // Calibration keeps a spread sample of the texts, their held-out OOV rates against the same vocabulary.
  const kept = spreadSample(Array.from({ length: rows.length }, (_, i) => i), CALIBRATION_ROWS);
  const keptHeldOut = kept.filter((i) => side[i] === 1);
  const calibration: TextDriftSample = {
    textLength: kept.map((i) => rows[i]!.text.length),
    textLengthEdges: textLength.edges,
    oovRate: (keptHeldOut.length > 0 ? keptHeldOut : kept).map((i) => oovRate(tokens[i]!, vocabulary)),
    oovRateEdges: oovRates.edges,
    tokenBuckets: kept.map((i) => Int32Array.from(tokens[i]!, (w) => tokenBucket(w, buckets))),
    buckets,
    embedding: embedder.featurize(kept.map((i) => rows[i]!.text)),
    dims: TEXT_EMBEDDING_DIMS,
  };
  return { size: rows.length, vocabulary, textLength, oovRate: oovRates, tokenBuckets, labels, embedding, calibration, thresholds: new Map() };
};

/** How text thresholds are calibrated: false alarms per window over all text statistics, and the draws. */
export interface TextCalibration {
  familyAlpha: number;
  draws?: number | undefined;
}

/** Windows are calibrated at sizes rounded down to this step (a smaller window: a higher, safer threshold). */
const SIZE_STEP = 50;

/**
 * The text statistics' thresholds for windows of `windowSize` texts, calibrated on the reference's
 * own texts once per (rounded) size and cached with it. Deterministic: seeded by the size.
 */
export const textThresholds = (ref: TextReference, windowSize: number, c: TextCalibration): Record<TextDriftStatistic, CalibratedThreshold> | undefined => {
  const size = Math.max(SIZE_STEP, Math.floor(windowSize / SIZE_STEP) * SIZE_STEP);
  const cached = ref.thresholds.get(size);
  if (cached) return cached;
  // Too few texts (or held-out texts) to draw stationary windows from: the fixed thresholds apply.
  if (ref.calibration.textLength.length < 4 || ref.calibration.oovRate.length < 4) return undefined;
  const t = calibrateTextDrift(ref.calibration, size, { familyAlpha: c.familyAlpha, rng: mulberry32(size), ...(c.draws !== undefined ? { draws: c.draws } : {}) });
  ref.thresholds.set(size, t);
  return t;
};

/**
 * At most `max` rows spread evenly over the input (a deterministic stride, not the first `max`), so
 * a huge snapshot stays cheap to load without losing its later blocks.
 */
export const spreadSample = <T>(rows: readonly T[], max: number): T[] => {
  if (rows.length <= max) return [...rows];
  const step = rows.length / max;
  return Array.from({ length: max }, (_, i) => rows[Math.floor(i * step)]!);
};
