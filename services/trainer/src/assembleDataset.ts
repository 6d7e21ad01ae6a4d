import { splitByGroup, type Example } from '@flywheel/learning';

/** The rows of one training run: what it trains on, what measures forgetting, what measures the gain. */
export interface AssembledDataset {
  /** fresh rows (minus their validation share) + old rows (minus the holdout) */
  train: Example[];
  /** old rows never trained on in this run: the forgetting check */
  holdout: Example[];
  /** fresh rows never trained on in this run: the improvement check */
  freshValidation: Example[];
  /** the snapshot stored with the version: train + holdout + freshValidation (the next run re-splits it the same way) */
  snapshot: Example[];
}

/**
 * Combines the fresh rows (corrections, confirmations, pseudo-labels) with the previous version's
 * snapshot. Splits are by group key with a fixed seed, so the same old rows stay in the holdout
 * from one run to the next and never leak into training.
 */
export const assembleDataset = (
  fresh: readonly Example[],
  previous: readonly Example[],
  opts: { holdoutFraction: number; holdoutMaxRows: number; oldMaxRows: number; seed: number },
): AssembledDataset => {
  const old = previous.length > opts.oldMaxRows ? previous.slice(previous.length - opts.oldMaxRows) : [...previous];
  const oldSplit = opts.holdoutFraction > 0 && old.length >= 10 ? splitByGroup(old, { fraction: opts.holdoutFraction, seed: opts.seed }) : { train: old, held: [] as Example[] };
  const holdout = oldSplit.held.slice(0, opts.holdoutMaxRows);
  const overflow = oldSplit.held.slice(opts.holdoutMaxRows);
  // Human feedback is what the run is for; hold some out to prove the gain, but only when there is enough.
  const teaching = fresh.filter((e) => e.source !== 'pseudo_label');
  const pseudo = fresh.filter((e) => e.source === 'pseudo_label');
  const freshSplit = teaching.length >= 20 ? splitByGroup(teaching, { fraction: 0.2, seed: opts.seed }) : { train: teaching, held: [] as Example[] };
  const train = [...oldSplit.train, ...overflow, ...freshSplit.train, ...pseudo];
  return { train, holdout, freshValidation: freshSplit.held, snapshot: [...train, ...holdout, ...freshSplit.held] };
};
