import * as tf from '@tensorflow/tfjs';
import type { FeatureBatch } from '../features.js';
import { effectiveEmbedding, embeddingBag } from '../model.js';
import { createNetwork } from '../network.js';
import type { TrainingState } from '../state.js';

/** Distillation: the student matches the previous version's softened outputs on its old classes. */

/** Logits of the teacher (the version being continued) for the first `n` rows. */
export function computeTeacher(teacher: TrainingState, feats: FeatureBatch, n: number): Float32Array {
  const D = teacher.model.embeddingDim;
  const embedding = effectiveEmbedding(teacher);
  return teacherLogits(teacher, n, (rows, buf) => {
    embeddingBag(embedding, D, feats, rows, buf);
    return buf.subarray(0, rows.length * D);
  });
}

/**
 * Teacher logits of the first `n` rows, computed the first time a row is drawn and cached: a short
 * update draws only part of a large replay reservoir, and scoring all of it up front costs as much
 * as thousands of training steps' worth of embedding-bag work.
 */
export function lazyTeacher(teacher: TrainingState, feats: FeatureBatch, n: number): { gather(rows: readonly number[]): Float32Array; dispose(): void } {
  const D = teacher.model.embeddingDim;
  const C = teacher.labels.length;
  const embedding = effectiveEmbedding(teacher);
  const net = createNetwork(teacher.model, teacher.base, teacher.adapter, C, teacher.adapter.mode);
  const cache = new Float32Array(n * C);
  const done = new Uint8Array(n);
  let buf = new Float32Array(0);
  return {
    gather(rows) {
      const missing = [...new Set(rows.filter((r) => done[r] === 0))];
      if (missing.length > 0) {
        if (buf.length < missing.length * D) buf = new Float32Array(missing.length * D);
        embeddingBag(embedding, D, feats, missing, buf);
        const logits = tf.tidy(() => net.forward(tf.tensor2d(buf.subarray(0, missing.length * D), [missing.length, D])));
        const data = logits.dataSync();
        logits.dispose();
        missing.forEach((r, k) => {
          cache.set(data.subarray(k * C, k * C + C), r * C);
          done[r] = 1;
        });
      }
      const out = new Float32Array(rows.length * C);
      rows.forEach((r, k) => out.set(cache.subarray(r * C, r * C + C), k * C));
      return out;
    },
    dispose() {
      net.dispose();
    },
  };
}

/** Logits of the teacher for the first `n` rows of h0 given directly (an encoder base: h0 is the same for teacher and student). */
export function computeTeacherFromRows(teacher: TrainingState, h0: Float32Array, n: number): Float32Array {
  const D = teacher.model.embeddingDim;
  return teacherLogits(teacher, n, (rows) => h0.subarray((rows[0] ?? 0) * D, ((rows[0] ?? 0) + rows.length) * D));
}

function teacherLogits(teacher: TrainingState, n: number, h0Of: (rows: number[], buf: Float32Array) => Float32Array): Float32Array {
  const D = teacher.model.embeddingDim;
  const C = teacher.labels.length;
  const net = createNetwork(teacher.model, teacher.base, teacher.adapter, C, teacher.adapter.mode);
  const out = new Float32Array(n * C);
  const chunk = 1024;
  const buf = new Float32Array(chunk * D);
  for (let s = 0; s < n; s += chunk) {
    const rows = Array.from({ length: Math.min(chunk, n - s) }, (_, k) => s + k);
    const h0 = h0Of(rows, buf);
    const logits = tf.tidy(() => net.forward(tf.tensor2d(h0, [rows.length, D])));
    out.set(logits.dataSync(), s * C);
    logits.dispose();
  }
  net.dispose();
  return out;
}


/**
 * Temperature-softened KL(teacher ‖ student) over the teacher's classes, weighted per row:
 * weight · T² · Σ_r w_r·KL_r with `rowWeights` already divided by their sum (the T² keeps gradient
 * sizes comparable across temperatures). Adds its gradient to `dlogits` ([n, C], the student's first
 * `teacherC` columns: weight · T · w_r · (q − p), q and p the softened student and teacher) and
 * returns the loss.
 */
export function addDistillationGradient(logits: Float32Array, C: number, teacherLogits: Float32Array, teacherC: number, rowWeights: Float32Array, n: number, temperature: number, weight: number, dlogits: Float32Array): number {
  const T = temperature;
  const p = new Float64Array(teacherC);
  const q = new Float64Array(teacherC);
  const logP = new Float64Array(teacherC);
  const logQ = new Float64Array(teacherC);
  let loss = 0;
  for (let r = 0; r < n; r++) {
    softenedLogSoftmax(teacherLogits, r * teacherC, teacherC, T, logP, p);
    softenedLogSoftmax(logits, r * C, teacherC, T, logQ, q);
    const w = rowWeights[r] as number;
    let kl = 0;
    for (let c = 0; c < teacherC; c++) {
      const pc = p[c] as number;
      kl += pc * ((logP[c] as number) - (logQ[c] as number));
      dlogits[r * C + c] = (dlogits[r * C + c] as number) + weight * T * w * ((q[c] as number) - pc);
    }
    loss += weight * T * T * w * kl;
  }
  return loss;
}

/** log softmax of x[o..o+k) / T into `out`, its exponent into `probs`. */
function softenedLogSoftmax(x: Float32Array, o: number, k: number, T: number, out: Float64Array, probs: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, (x[o + c] as number) / T);
  let z = 0;
  for (let c = 0; c < k; c++) z += Math.exp((x[o + c] as number) / T - max);
  const logZ = max + Math.log(z);
  for (let c = 0; c < k; c++) {
    out[c] = (x[o + c] as number) / T - logZ;
    probs[c] = Math.exp(out[c] as number);
  }
}
