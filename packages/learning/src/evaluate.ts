/** Precision, recall, F1 and support of one class. */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Quality of a model on a labelled set, optionally against the previous version. */
export interface Evaluation {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, ClassMetrics>;
  /** matrix[trueIndex][predictedIndex] over `labels` */
  confusion: { labels: string[]; matrix: number[][] };
  /** old classes only: previous recall − current recall (positive = forgotten) */
  forgetting?: Record<string, number>;
  averageForgetting?: number;
}

/**
 * Accuracy, macro-F1 (over classes present in truth or predictions), per-class metrics,
 * confusion matrix, and forgetting per class present in `previous` with support > 0.
 */
export function evaluate(
  truth: readonly string[],
  predicted: readonly string[],
  options: { labels?: readonly string[]; previous?: Evaluation } = {},
): Evaluation {
  if (truth.length !== predicted.length) throw new RangeError('truth and predicted differ in length');
  const labels = [...(options.labels ?? [])];
  const index = new Map<string, number>(labels.map((l, i) => [l, i]));
  const idx = (l: string): number => {
    let i = index.get(l);
    if (i === undefined) {
      i = labels.length;
      labels.push(l);
      index.set(l, i);
    }
    return i;
  };
  const pairs = truth.map((t, i) => [idx(t), idx(predicted[i] as string)] as const);
  const C = labels.length;
  const matrix = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (const [t, p] of pairs) {
    (matrix[t] as number[])[p] = ((matrix[t] as number[])[p] as number) + 1;
    if (t === p) correct++;
  }
  const perClass: Record<string, ClassMetrics> = {};
  let f1Sum = 0;
  let f1Count = 0;
  for (let c = 0; c < C; c++) {
    const tp = (matrix[c] as number[])[c] as number;
    const support = (matrix[c] as number[]).reduce((a, b) => a + b, 0);
    let predictedCount = 0;
    for (let r = 0; r < C; r++) predictedCount += (matrix[r] as number[])[c] as number;
    const precision = predictedCount > 0 ? tp / predictedCount : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[labels[c] as string] = { precision, recall, f1, support };
    if (support > 0 || predictedCount > 0) {
      f1Sum += f1;
      f1Count++;
    }
  }
  const result: Evaluation = {
    accuracy: truth.length > 0 ? correct / truth.length : 0,
    macroF1: f1Count > 0 ? f1Sum / f1Count : 0,
    perClass,
    confusion: { labels, matrix },
  };
  if (options.previous !== undefined) {
    const forgetting: Record<string, number> = {};
    let sum = 0;
    let n = 0;
    for (const [label, prev] of Object.entries(options.previous.perClass)) {
      const now = perClass[label];
      if (prev.support === 0 || now === undefined || now.support === 0) continue;
      forgetting[label] = prev.recall - now.recall;
      sum += prev.recall - now.recall;
      n++;
    }
    result.forgetting = forgetting;
    result.averageForgetting = n > 0 ? sum / n : 0;
  }
  return result;
}
