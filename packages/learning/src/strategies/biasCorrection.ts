/**
 * Bias correction of the classes an update added (a one-parameter form of Wu et al. 2019, "Large
 * Scale Incremental Learning"): an update trains on mostly-new rows, so the new classes' logits come
 * out too large and take old rows (clinc150: out-of-scope queries answered with the newest domains).
 * One shift δ added to every new class's logit is fitted on held-out rows of old and new classes
 * alike, by NLL, which is convex in δ; folding δ into the head's bias costs serving nothing.
 */
import { goldenSectionMin } from '../goldenSection.js';

/** Rows of each side the fit needs: below that the shift would follow a handful of rows. */
export const BIAS_CORRECTION_MIN_ROWS = 20;

/** Mean NLL of `targets` under softmax(z) with δ added to columns firstNew..C-1. */
export function shiftedNll(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, firstNew: number, delta: number): number {
  let loss = 0;
  for (let r = 0; r < targets.length; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, (logits[r * C + c] as number) + (c >= firstNew ? delta : 0));
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp((logits[r * C + c] as number) + (c >= firstNew ? delta : 0) - max);
    const t = targets[r] as number;
    loss += max + Math.log(z) - (logits[r * C + t] as number) - (t >= firstNew ? delta : 0);
  }
  return targets.length === 0 ? 0 : loss / targets.length;
}

/**
 * The δ in [-bound, bound] minimising held-out NLL (golden-section search), or 0 when the rows hold
 * fewer than BIAS_CORRECTION_MIN_ROWS of old or of new classes.
 */
export function fitNewClassShift(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, firstNew: number, bound = 8): number {
  if (firstNew <= 0 || firstNew >= C) return 0;
  let newRows = 0;
  for (let r = 0; r < targets.length; r++) if ((targets[r] as number) >= firstNew) newRows++;
  if (newRows < BIAS_CORRECTION_MIN_ROWS || targets.length - newRows < BIAS_CORRECTION_MIN_ROWS) return 0;
  const f = (d: number): number => shiftedNll(logits, targets, C, firstNew, d);
  return goldenSectionMin(f, -bound, bound);
}

/** Adds δ to columns firstNew..C-1 of logits [rows, C], in place. */
export function shiftNewClasses(logits: Float32Array, C: number, firstNew: number, delta: number): void {
  if (delta !== 0) onNewClasses(logits, C, firstNew, (x) => x + delta);
}

/** Replaces each new class's entry (column ≥ firstNew) of row-major [*, C] values by f(entry), in place. */
export function onNewClasses(values: Float32Array, C: number, firstNew: number, f: (x: number) => number): void {
  for (let i = 0; i < values.length; i++) if (i % C >= firstNew) values[i] = f(values[i] as number);
}
