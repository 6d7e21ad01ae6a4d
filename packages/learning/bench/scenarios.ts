// bench:learn's experience builders (continual.ts), as functions of their parameters, for bench:encoder.
import { splitByGroup, tokenize, type Example } from './lib.js';

export interface Experience {
  train: Example[];
  test: Example[];
}

/** Classes sorted by size, dealt round-robin into `experiences` groups; each group is one experience. */
export function classIncremental(rows: Example[], experiences: number, seed: number): Experience[] {
  const { train, held } = splitByGroup(rows, { fraction: 0.2, seed });
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a.localeCompare(b));
  const groupOf = new Map(classes.map((c, i) => [c, i % experiences]));
  return Array.from({ length: experiences }, (_, k) => ({
    train: train.filter((r) => groupOf.get(r.label) === k),
    test: held.filter((r) => groupOf.get(r.label) === k),
  }));
}

/** Same classes, vocabulary shifting: rows go to an experience by the hash of their first word (mostly the brand). */
export function drift(rows: Example[], experiences: number, seed: number): Experience[] {
  const { train, held } = splitByGroup(rows, { fraction: 0.2, seed });
  const expOf = (e: Example): number => {
    const first = tokenize(e.text)[0] ?? '';
    let h = 2166136261;
    for (let i = 0; i < first.length; i++) h = Math.imul(h ^ first.charCodeAt(i), 16777619);
    return (h >>> 0) % experiences;
  };
  return Array.from({ length: experiences }, (_, k) => ({ train: train.filter((r) => expOf(r) === k), test: held.filter((r) => expOf(r) === k) }));
}

/** Final average accuracy and average forgetting of an accuracy matrix R[after update t][experience j] (as bench:learn). */
export function summarizeMatrix(R: number[][]): { finalAccuracy: number; averageForgetting: number } {
  const T = R.length - 1;
  const last = R[T]!;
  const js = last.map((_, j) => j).filter((j) => Number.isFinite(last[j]!));
  const finalAccuracy = js.reduce((a, j) => a + last[j]!, 0) / js.length;
  const old = js.filter((j) => j < T);
  const averageForgetting = old.reduce((a, j) => a + Math.max(...R.slice(j, T).map((row) => row[j]!)) - last[j]!, 0) / Math.max(1, old.length);
  return { finalAccuracy, averageForgetting };
}
