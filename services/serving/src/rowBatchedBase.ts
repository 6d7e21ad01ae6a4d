import { createMicroBatcher } from '@flywheel/runtime';
import type { BaseModel, Classifier, RawScores } from './ports.js';

/** One row of a run's scores, by reference (nothing is copied until a call's rows are put together). */
interface Row {
  scores: RawScores;
  row: number;
}

/** A call's rows as RawScores: the run's own arrays when the call had the run to itself, else copies. */
const joinRows = (rows: readonly Row[], labels: number): RawScores => {
  const first = rows[0];
  if (first !== undefined && first.scores.rows === rows.length && rows.every((r, i) => r.scores === first.scores && r.row === i)) return first.scores;
  const n = rows.length;
  const out: RawScores = { rows: n, labelIndex: new Int32Array(n), confidence: new Float32Array(n), probabilities: new Float32Array(n * labels) };
  rows.forEach(({ scores, row }, i) => {
    out.labelIndex[i] = scores.labelIndex[row] as number;
    out.confidence[i] = scores.confidence[row] as number;
    out.probabilities.set(scores.probabilities.subarray(row * labels, (row + 1) * labels), i * labels);
  });
  return out;
};

/** Calls of at least this many rows already amortize a run: they go straight to the session, unmerged and uncopied. */
export const MERGE_BELOW_ROWS = 16;

/**
 * Merges concurrent small predictRaw calls on one classifier into one onnxruntime run (at most
 * `maxItems` rows). Only calls of the same event-loop turn are merged (setImmediate, never a timer),
 * so a lone batch-1 request does not wait; under load the requests that arrived together share a
 * run, which costs much less per row than one run each. 1 or less: each call runs alone.
 */
export const rowBatchedClassifier = (classifier: Classifier, maxItems: number): Classifier => {
  if (maxItems <= 1) return classifier;
  const C = classifier.labels.length;
  const run = createMicroBatcher(async (texts: readonly string[]): Promise<Row[]> => {
    const scores = await classifier.predictRaw(texts);
    return Array.from({ length: scores.rows }, (_, row) => ({ scores, row }));
  }, { maxWaitMs: 0, maxItems });
  return {
    labels: classifier.labels, version: classifier.version,
    predictRaw: async (texts) => (texts.length >= MERGE_BELOW_ROWS ? classifier.predictRaw(texts) : joinRows(await run(texts), C)),
  };
};

/** A base whose classifiers merge concurrent calls (rowBatchedClassifier). */
export const rowBatchedBase = (base: BaseModel, maxItems: number): BaseModel => ({
  baseVersion: base.baseVersion,
  createClassifier: (bytes, manifest) => rowBatchedClassifier(base.createClassifier(bytes, manifest), maxItems),
  release: () => base.release(),
});
