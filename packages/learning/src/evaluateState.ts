import type { Example } from './data.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { argmaxRow } from './model.js';
import { createTfClassifier } from './tfClassifier.js';
import type { TrainingState } from './state.js';

/** Evaluates a training state on labelled examples (tfjs), with forgetting against `previous`. */
export function evaluateState(state: TrainingState, examples: readonly Example[], previous?: Evaluation): Evaluation {
  const clf = createTfClassifier(state);
  try {
    const p = clf.probabilities(examples.map((e) => e.text));
    const C = state.labels.length;
    const predicted = examples.map((_, r) => state.labels[argmaxRow(p, r, C)] as string);
    return evaluate(
      examples.map((e) => e.label),
      predicted,
      previous !== undefined ? { labels: state.labels, previous } : { labels: state.labels },
    );
  } finally {
    clf.dispose();
  }
}
