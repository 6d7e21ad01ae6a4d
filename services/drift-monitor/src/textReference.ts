import { murmur3_32, numericReference, type NumericReference } from '@flywheel/stats';
import { oovRate, tokenBucket, tokenize } from './textFeatures.js';

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
}

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
  return {
    size: rows.length,
    vocabulary,
    textLength: numericReference(rows.map((r) => r.text.length)),
    oovRate: numericReference((heldOut.length > 0 ? heldOut : tokens).map((t) => oovRate(t, vocabulary))),
    tokenBuckets,
    labels,
  };
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
