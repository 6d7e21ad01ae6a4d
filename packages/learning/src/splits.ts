import { createHash } from 'node:crypto';
import { z } from 'zod';
import { groupKey, type Example } from './data.js';
import { fnv1a } from './random.js';

/**
 * How rows are held out, the same for bootstrap and every retrain: each held set gets `fraction`
 * of the rows, at most `maxRows` (the fraction shrinks as data grows, so a row once held out is
 * never trained on later: held sets only ever give rows back to training).
 */
export const SplitConfig = z.object({
  /** early stopping and the temperature fit */
  validation: z.number().min(0).max(0.3).default(0.1),
  /** the quality gates (accuracy, forgetting, improvement over the champion) */
  gate: z.number().min(0).max(0.3).default(0.1),
  /** the metrics reported to the registry (never used to choose anything) */
  test: z.number().min(0).max(0.3).default(0.1),
  maxRows: z.number().int().positive().default(2000),
  seed: z.number().int().default(1),
});
export type SplitConfig = z.infer<typeof SplitConfig>;
export const DEFAULT_SPLIT: SplitConfig = SplitConfig.parse({});

/** The four disjoint parts of a dataset. */
export interface DataSplits<T extends Example = Example> {
  train: T[];
  validation: T[];
  gate: T[];
  test: T[];
}

/** A position in [0, 1) per group key, stable across runs (the seed picks another shuffle). */
export function groupPosition(e: Example, seed: number): number {
  const key = groupKey(e);
  return (Math.imul(fnv1a(key, 0, key.length, 0x811c9dc5 ^ seed) ^ 0x2f6b1d93, 0x27d4eb2d) >>> 0) / 0x100000000;
}

/**
 * Partitions rows by group hash into train / validation / gate / test: every row of a group lands
 * in the same part, and a part's share is `fraction` capped at `maxRows / total` of `total` rows
 * (default: the rows given). Pass `total` when partitioning a subset so it splits like the whole.
 */
export function partitionByGroup<T extends Example>(rows: readonly T[], config: Partial<SplitConfig> = {}, total = rows.length): DataSplits<T> {
  const c = { ...DEFAULT_SPLIT, ...config };
  const share = (f: number): number => Math.min(f, c.maxRows / Math.max(1, total));
  const tEnd = share(c.test);
  const gEnd = tEnd + share(c.gate);
  const vEnd = gEnd + share(c.validation);
  const out: DataSplits<T> = { train: [], validation: [], gate: [], test: [] };
  for (const e of rows) {
    const u = groupPosition(e, c.seed);
    (u < tEnd ? out.test : u < gEnd ? out.gate : u < vEnd ? out.validation : out.train).push(e);
  }
  return out;
}

/** Size and content hash of a set (48 bits of sha256 over its sorted rows, exact as a JSON number). */
export function describeRows(rows: readonly Example[]): { rows: number; hash: number } {
  const lines = rows.map((e) => `${groupKey(e)}\u0000${e.label}\u0000${e.text}`).sort();
  const hex = createHash('sha256').update(lines.join('\n')).digest('hex');
  return { rows: rows.length, hash: parseInt(hex.slice(0, 12), 16) };
}
