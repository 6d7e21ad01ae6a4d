import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate.js';

describe('evaluate', () => {
  it('computes accuracy, macro-F1, per-class metrics and the confusion matrix', () => {
    const e = evaluate(['a', 'a', 'b', 'b'], ['a', 'b', 'b', 'b'], { labels: ['a', 'b'] });
    expect(e.accuracy).toBe(0.75);
    expect(e.perClass.a).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3, support: 2 });
    expect(e.perClass.b?.precision).toBeCloseTo(2 / 3);
    expect(e.macroF1).toBeCloseTo((2 / 3 + 0.8) / 2);
    expect(e.confusion.matrix).toEqual([
      [1, 1],
      [0, 2],
    ]);
  });

  it('reports forgetting of old classes against the previous version', () => {
    const prev = evaluate(['a', 'a', 'b'], ['a', 'a', 'b']);
    const now = evaluate(['a', 'a', 'b', 'c'], ['a', 'c', 'b', 'c'], { previous: prev });
    expect(now.forgetting).toEqual({ a: 0.5, b: 0 });
    expect(now.averageForgetting).toBeCloseTo(0.25);
  });
});
