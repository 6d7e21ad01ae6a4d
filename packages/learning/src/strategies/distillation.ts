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
  const C = teacher.labels.length;
  const net = createNetwork(teacher.model, teacher.base, teacher.adapter, C, teacher.adapter.mode);
  const out = new Float32Array(n * C);
  const chunk = 1024;
  const buf = new Float32Array(chunk * D);
  for (let s = 0; s < n; s += chunk) {
    const rows = Array.from({ length: Math.min(chunk, n - s) }, (_, k) => s + k);
    embeddingBag(embedding, D, feats, rows, buf);
    const logits = tf.tidy(() => net.forward(tf.tensor2d(buf.subarray(0, rows.length * D), [rows.length, D])));
    out.set(logits.dataSync(), s * C);
    logits.dispose();
  }
  net.dispose();
  return out;
}


/**
 * Temperature-softened KL(teacher ‖ student) over the teacher's classes, weighted per row:
 * weight · T² · Σ_r w_r·KL_r / Σ w (the T² keeps gradient sizes comparable across temperatures).
 */
export function distillationLoss(logits: tf.Tensor2D, teacherLogits: tf.Tensor2D, rowWeights: tf.Tensor1D, weightSum: number, temperature: number, weight: number): tf.Scalar {
  const [n, teacherC] = teacherLogits.shape;
  const T = temperature;
  const student = tf.logSoftmax(tf.div(tf.slice(logits, [0, 0], [n, teacherC]), T));
  const teacherLogP = tf.logSoftmax(tf.div(teacherLogits, T));
  const kl = tf.sum(tf.mul(tf.exp(teacherLogP), tf.sub(teacherLogP, student)), 1);
  return tf.mul(tf.div(tf.sum(tf.mul(kl, rowWeights)), weightSum), weight * T * T);
}
