/**
 * Confidence calibration without tfjs: temperature scaling (one scalar T, softmax(z / T)) fitted by
 * minimising the negative log-likelihood of held-out rows, and the expected calibration error.
 */
import { goldenSectionMin } from './goldenSection.js';

/** Row-wise softmax(z / T) of logits [rows, C]. */
export function softmaxRows(logits: ArrayLike<number>, C: number, temperature = 1): Float32Array {
  const rows = Math.floor(logits.length / C);
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, (logits[r * C + c] as number) / temperature);
    let z = 0;
    for (let c = 0; c < C; c++) z += out[r * C + c] = Math.exp((logits[r * C + c] as number) / temperature - max);
    for (let c = 0; c < C; c++) out[r * C + c] = (out[r * C + c] as number) / z;
  }
  return out;
}

/** Mean negative log-likelihood of the true classes under softmax(z / T). */
export function temperatureNll(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, temperature: number): number {
  const rows = targets.length;
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, (logits[r * C + c] as number) / temperature);
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp((logits[r * C + c] as number) / temperature - max);
    loss += max + Math.log(z) - (logits[r * C + (targets[r] as number)] as number) / temperature;
  }
  return rows === 0 ? 0 : loss / rows;
}

/**
 * The temperature minimising held-out NLL: golden-section search on log T in [1/20, 20] (the NLL is
 * unimodal in T for a fixed set of logits). Returns 1 when there are too few rows to trust a fit.
 */
export function fitTemperature(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, options: { minRows?: number } = {}): number {
  if (targets.length < (options.minRows ?? 30) || C < 2) return 1;
  const f = (logT: number): number => temperatureNll(logits, targets, C, Math.exp(logT));
  const t = Math.exp(goldenSectionMin(f, Math.log(1 / 20), Math.log(20)));
  // Keep the raw softmax unless scaling measurably helps (avoids noise-fitted T on tiny sets).
  return f(Math.log(t)) < f(0) - 1e-6 ? t : 1;
}

/**
 * Expected calibration error: rows binned by top-class confidence into `bins` equal-width bins;
 * Σ_b (n_b / n) · |accuracy_b − mean confidence_b|.
 */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean>, bins = 15): number {
  const n = confidence.length;
  if (n === 0) return NaN;
  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const hits = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = confidence[i] as number;
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
    count[b] = (count[b] as number) + 1;
    confSum[b] = (confSum[b] as number) + p;
    if (correct[i] === true) hits[b] = (hits[b] as number) + 1;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    const nb = count[b] as number;
    if (nb > 0) ece += (nb / n) * Math.abs((hits[b] as number) / nb - (confSum[b] as number) / nb);
  }
  return ece;
}

/** ECE of logits [rows, C] against integer targets under temperature T. */
export function logitsEce(logits: ArrayLike<number>, targets: ArrayLike<number>, C: number, temperature = 1, bins = 15): number {
  const p = softmaxRows(logits, C, temperature);
  const rows = targets.length;
  const conf = new Float32Array(rows);
  const correct: boolean[] = new Array<boolean>(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if ((p[r * C + c] as number) > (p[r * C + best] as number)) best = c;
    conf[r] = p[r * C + best] as number;
    correct[r] = best === (targets[r] as number);
  }
  return expectedCalibrationError(conf, correct, bins);
}
