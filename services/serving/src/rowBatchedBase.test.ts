import { describe, expect, it } from 'vitest';
import type { Classifier, RawScores } from './ports.js';
import { MERGE_BELOW_ROWS, rowBatchedClassifier } from './rowBatchedBase.js';

/** Scores that identify their text: label index = the text's length mod 3, probabilities one-hot on it. */
const echo = (): Classifier & { runs: number[] } => {
  const runs: number[] = [];
  return {
    runs, labels: ['a', 'b', 'c'], version: '1.0.0',
    async predictRaw(texts): Promise<RawScores> {
      runs.push(texts.length);
      const n = texts.length;
      const s: RawScores = { rows: n, labelIndex: new Int32Array(n), confidence: new Float32Array(n), probabilities: new Float32Array(n * 3) };
      texts.forEach((t, i) => {
        s.labelIndex[i] = t.length % 3;
        s.confidence[i] = t.length / 100;
        s.probabilities[i * 3 + (t.length % 3)] = 1;
      });
      return s;
    },
  };
};

describe('rowBatchedClassifier', () => {
  it('runs the calls of one turn together and gives each call its own rows', async () => {
    const inner = echo();
    const clf = rowBatchedClassifier(inner, 64);
    const [one, two, three] = await Promise.all([clf.predictRaw(['x']), clf.predictRaw(['xx', 'xxxx']), clf.predictRaw(['xxx'])]);
    expect(inner.runs).toEqual([4]);
    expect([...(one?.labelIndex ?? [])]).toEqual([1]);
    expect(two?.rows).toBe(2);
    expect([...(two?.labelIndex ?? [])]).toEqual([2, 1]);
    expect([...(two?.confidence ?? [])].map((c) => Math.round(c * 100))).toEqual([2, 4]);
    expect([...(two?.probabilities ?? [])]).toEqual([0, 0, 1, 0, 1, 0]);
    expect([...(three?.labelIndex ?? [])]).toEqual([0]);
  });

  it('runs a lone call at once, on its own, and splits runs at maxItems', async () => {
    const inner = echo();
    const clf = rowBatchedClassifier(inner, 2);
    const alone = await clf.predictRaw(['xx']);
    expect(alone.rows).toBe(1);
    await Promise.all([clf.predictRaw(['x']), clf.predictRaw(['x']), clf.predictRaw(['x'])]);
    expect(inner.runs).toEqual([1, 2, 1]);
  });

  it('sends calls that are already large batches straight to the session', async () => {
    const inner = echo();
    const clf = rowBatchedClassifier(inner, 64);
    const big = Array.from({ length: MERGE_BELOW_ROWS }, () => 'xx');
    const [a, b] = await Promise.all([clf.predictRaw(big), clf.predictRaw(big)]);
    expect(inner.runs).toEqual([MERGE_BELOW_ROWS, MERGE_BELOW_ROWS]);
    expect(a?.rows).toBe(MERGE_BELOW_ROWS);
    expect([...(b?.labelIndex ?? [])].every((l) => l === 2)).toBe(true);
  });

  it('is the classifier itself when batching is off', () => {
    const inner = echo();
    expect(rowBatchedClassifier(inner, 1)).toBe(inner);
  });
});
