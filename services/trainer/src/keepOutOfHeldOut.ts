import { DEFAULT_SPLIT, groupPosition, type Example } from '@flywheel/learning';
import type { TrainingRow } from './TrainingRow.js';

/**
 * Held-out sets (validation, gate, test) take the group positions below validation + gate + test,
 * each at most 0.3 (learning's SplitConfig), so a position at or above 0.9 is on the train side
 * under every split setting, now and in every later run that re-partitions the stored snapshot.
 */
export const TRAIN_SIDE_FROM = 0.9;

/** A group key derived from `group` whose position is on the train side (deterministic: the same input always gives the same key). */
export const trainSideGroup = (group: string, seed: number = DEFAULT_SPLIT.seed): string => {
  for (let n = 0; n < 10_000; n++) {
    const key = `${group}#train${n}`;
    if (groupPosition({ text: '', label: '-', group: key }, seed) >= TRAIN_SIDE_FROM) return key;
  }
  // About 0.9^10000 likely: a broken hash, not bad luck.
  throw new Error(`no train-side group key found for ${group}; the split hash is broken`);
};

/**
 * The rows a candidate learns from, with the judges kept out of the attacker's reach (issue 12): rows
 * a `standard` client supplied are trained on but never land in a held-out set, so the quality gate
 * and the forgetting check (today and after this snapshot becomes the next run's old data) score
 * only on rows from trusted clients. Done by re-keying their split group onto the train side,
 * because learning's partition is a pure hash of the group key (splits.ts). `seed` is the split
 * seed of the run (the trainer uses learning's default).
 */
export const keepOutOfHeldOut = (rows: readonly TrainingRow[], seed: number = DEFAULT_SPLIT.seed): Example[] =>
  rows.map((r) => ({
    text: r.text,
    label: r.label,
    source: r.source,
    group: r.trust === 'standard' ? trainSideGroup(r.group, seed) : r.group,
    ...(r.confidence !== undefined ? { confidence: r.confidence } : {}),
  }));
