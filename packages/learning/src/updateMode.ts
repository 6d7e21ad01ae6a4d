import { effectiveEmbedding, mergeLora, denseIndex } from './model.js';
import type { TrainOptions } from './options.js';
import type { TrainingState } from './state.js';

/**
 * Which way one update trains, and why (recorded with the version). An update that adds labels
 * keeps `opts.mode`; one that adds none trains as `opts.sameLabels` says when it is set. With the
 * n-gram default that is: a new base (full mode) when new classes arrive, since their vocabulary has
 * to enter the embedding table and an adapter learned it too poorly (bench:learn, class-incremental);
 * an adapter with embedding-row deltas over the champion's base otherwise, which serving hot-swaps on
 * the base it already holds.
 */
export function updateMode(opts: TrainOptions, addedLabels: readonly string[]): { opts: TrainOptions; reason: string } {
  const same = opts.sameLabels;
  const shown = addedLabels.slice(0, 5).join(', ') + (addedLabels.length > 5 ? ', …' : '');
  if (addedLabels.length > 0) {
    const why = `the update adds ${addedLabels.length} label${addedLabels.length === 1 ? '' : 's'} (${shown})`;
    if (same === undefined || same.mode === opts.mode) return { opts, reason: `${describe(opts.mode, opts)}: ${why}` };
    return { opts, reason: `${describe(opts.mode, opts)}: ${why}, and a new class's vocabulary needs the embedding table trained (${describe(same.mode, same)} is kept for updates that add no label)` };
  }
  if (same === undefined) return { opts, reason: `${describe(opts.mode, opts)}: the configured mode` };
  const chosen: TrainOptions = { ...opts, mode: same.mode };
  if (same.embeddingDelta !== undefined) chosen.embeddingDelta = same.embeddingDelta;
  else delete chosen.embeddingDelta;
  return { opts: chosen, reason: `${describe(same.mode, same)}: the update adds no label` };
}

const describe = (mode: TrainOptions['mode'], o: { embeddingDelta?: { maxRows: number } | undefined }): string =>
  mode === 'full' ? 'new base (full mode)' : `adapter on the champion's base (LoRA${(o.embeddingDelta?.maxRows ?? 0) > 0 ? ` + up to ${o.embeddingDelta?.maxRows} embedding rows` : ''})`;

/**
 * A LoRA version as the start of a full-mode update: its LoRA layers merged into the dense kernels
 * and its embedding-row delta into the table, so the new base starts from what the version computes
 * (a fresh full adapter over the bare base would drop everything the adapter had learned).
 */
export function mergedForFullMode(state: TrainingState): TrainingState {
  if (state.adapter.mode !== 'lora') return state;
  const { lora, layers } = state.adapter;
  const dense = state.base.dense.map((layer, i) => {
    const target = Object.entries(layers).find(([name]) => denseIndex(name) === i)?.[1];
    return target === undefined ? layer : { ...layer, kernel: mergeLora(layer, target, lora.rank, lora.alpha) };
  });
  const { embeddingDelta: _merged, ...adapter } = state.adapter;
  return {
    ...state,
    base: { embedding: effectiveEmbedding(state), dense },
    adapter: { ...adapter, mode: 'full', layers: {} },
  };
}
