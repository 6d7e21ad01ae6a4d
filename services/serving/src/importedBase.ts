import { softmaxRows, type ImportedClassifier } from '@flywheel/learning';
import { createMicroBatcher, type MicroBatchOptions } from '@flywheel/runtime';
import type { BaseModel, Classifier, RawScores } from './ports.js';

/**
 * A user's classifier as a base: every version on it (one, the imported champion) answers with the
 * classifier's own logits through softmax, in its label order. Concurrent requests share runs
 * through a micro-batcher; there is no adapter to merge.
 */
export function importedBase(classifier: Pick<ImportedClassifier, 'labels' | 'logits' | 'release'>, baseVersion: string, batching: MicroBatchOptions): BaseModel {
  const labels = classifier.labels;
  const C = labels.length;
  const logits = createMicroBatcher((texts: readonly string[]) => classifier.logits(texts), batching);
  const predictRaw = async (texts: readonly string[]): Promise<RawScores> => {
    const rows = await logits(texts);
    const flat = new Float32Array(rows.length * C);
    rows.forEach((r, i) => flat.set(r, i * C));
    const probabilities = softmaxRows(flat, C);
    const labelIndex = new Int32Array(rows.length);
    const confidence = new Float32Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (probabilities[r * C + c]! > probabilities[r * C + best]!) best = c;
      labelIndex[r] = best;
      confidence[r] = probabilities[r * C + best]!;
    }
    return { rows: rows.length, labelIndex, confidence, probabilities };
  };
  return {
    baseVersion,
    createClassifier(_adapterBytes: Uint8Array, manifest: unknown): Classifier {
      const version = typeof manifest === 'object' && manifest !== null && typeof (manifest as { version?: unknown }).version === 'string' ? (manifest as { version: string }).version : baseVersion;
      return { labels, version, predictRaw };
    },
    release: () => classifier.release(),
  };
}
