import * as tf from '@tensorflow/tfjs';
import { fitTemperature } from './calibration.js';
import type { Example } from './data.js';
import { evaluate } from './evaluate.js';
import { createFeaturizer, type FeatureBatch } from './features.js';
import { addEmbeddingDelta, argmaxRow, effectiveEmbedding, embeddingBag, extractEmbeddingDelta, type RowsOf } from './model.js';
import { createNetwork, type TrainMode } from './network.js';
import { createSparseScratch, sparseAdagrad } from './optimiser.js';
import type { TrainOptions, WeightedExample } from './options.js';
import { shuffleInPlace, type Rng } from './random.js';
import type { AdapterWeights, BaseWeights, EmbeddingDelta, ModelConfig, TrainingState } from './state.js';
import { computeTeacherFromRows, distillationLoss, lazyTeacher } from './strategies/distillation.js';
import { ewcPenaltyTensor, ewcTerms, type PaddedFisher } from './strategies/ewc.js';
import { rebalanceWeights } from './strategies/replay.js';
import type { TrainResult } from './train.js';

/** The mini-batch loop shared by trainBase and continueTraining. */

export interface FitInput {
  model: ModelConfig;
  base: BaseWeights;
  adapter: AdapterWeights;
  labels: string[];
  mode: TrainMode;
  train: WeightedExample[];
  replay: readonly Example[];
  replayRatio: number;
  /** rows seen so far per label: the loss is reweighted so the batch mix matches this prior */
  classPrior?: Record<string, number>;
  validation: readonly Example[];
  /** validation rows never trained on (the temperature is fitted on them); the rest are replay checks */
  heldOutValidation?: readonly Example[];
  lr: number;
  opts: TrainOptions;
  rng: Rng;
  teacher?: { state: TrainingState; temperature: number; weight: number };
  ewc?: PaddedFisher;
  /** h0 of texts from a frozen encoder base ([texts, embeddingDim]); absent: the n-gram embedding bag */
  rowsOf?: RowsOf;
}

export interface FitOutput {
  base: BaseWeights;
  adapter: AdapterWeights;
  result: Omit<TrainResult, 'state' | 'startedFrom' | 'learningRate' | 'backend'>;
  /** fitted on the held-out validation rows (1 when there are too few) */
  temperature: number;
}

/** Mini-batch training with early stopping on validation accuracy (best epoch restored). */
export function fit(input: FitInput): FitOutput {
  const started = performance.now();
  const { model, labels, mode, opts, rng } = input;
  const D = model.embeddingDim;
  const C = labels.length;
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const nTrain = input.train.length;
  const nReplay = input.replay.length;
  const heldOut = (input.heldOutValidation ?? []).filter((e) => labelIndex.has(e.label));
  const validation = [...heldOut, ...input.validation.filter((e) => labelIndex.has(e.label))];
  const texts = [...input.train.map((w) => w.example.text), ...input.replay.map((e) => e.text), ...validation.map((e) => e.text)];
  const y = new Int32Array(texts.length);
  const sampleWeight = new Float32Array(texts.length).fill(1);
  input.train.forEach((w, i) => {
    y[i] = labelIndex.get(w.example.label) as number;
    sampleWeight[i] = w.weight;
  });
  input.replay.forEach((e, i) => {
    y[nTrain + i] = labelIndex.get(e.label) ?? 0;
    sampleWeight[nTrain + i] = opts.sourceWeights[e.source ?? 'original'];
  });
  validation.forEach((e, i) => (y[nTrain + nReplay + i] = labelIndex.get(e.label) as number));
  if (input.classPrior !== undefined) rebalanceWeights(input.classPrior, labels, y, sampleWeight, nTrain, nReplay, input.replayRatio);
  // An encoder base gives h0 directly: no features, no embedding table to train.
  const feats = input.rowsOf === undefined ? createFeaturizer(model.features).featurize(texts) : emptyFeatures(texts.length);
  // Full mode trains the embedding, lora mode with embeddingDelta trains sparse rows over the frozen
  // one: both work on a copy (with the adapter's earlier delta added) so the previous version stays intact.
  const deltaRows = mode === 'lora' && input.rowsOf === undefined ? (opts.embeddingDelta?.maxRows ?? 0) : 0;
  const trainEmbedding = (mode === 'full' && input.rowsOf === undefined) || deltaRows > 0;
  const embedding = mode === 'full' ? effectiveEmbedding({ base: input.base, adapter: input.adapter, model }).slice() : deltaRows > 0 ? copyWithDelta(input.base.embedding, D, input.adapter.embeddingDelta) : effectiveEmbedding({ base: input.base, adapter: input.adapter, model });
  // Frozen embedding: the bag output of every row never changes, so compute it once.
  const cachedH0 = input.rowsOf !== undefined ? input.rowsOf(texts) : !trainEmbedding ? new Float32Array(texts.length * D) : undefined;
  if (cachedH0 !== undefined && input.rowsOf === undefined) embeddingBag(embedding, D, feats, undefined, cachedH0);

  const net = createNetwork(model, input.base, input.adapter, C, mode);
  const vars = [...net.trainable.values()];
  const names = [...net.trainable.keys()];
  const optimizer = tf.train.adam(input.lr);
  // Encoder base: h0 is at hand, so all teacher logits up front; n-gram bag: per row on first draw.
  const teacherLogits = input.teacher !== undefined && cachedH0 !== undefined && input.rowsOf !== undefined ? computeTeacherFromRows(input.teacher.state, cachedH0, nTrain + nReplay) : undefined;
  const teacherLazy = input.teacher !== undefined && teacherLogits === undefined ? lazyTeacher(input.teacher.state, feats, nTrain + nReplay) : undefined;
  const teacherC = input.teacher?.state.labels.length ?? 0;
  const ewc = input.ewc !== undefined ? ewcTerms(new Map(names.map((name, i) => [name, vars[i] as tf.Tensor])), input.ewc) : [];
  const adagrad = trainEmbedding ? new Float32Array(model.features.buckets) : undefined;
  const scratch = trainEmbedding ? createSparseScratch(model.features.buckets, Math.max(1, opts.batchSize) * model.features.maxFeatures, D) : undefined;
  const loraDropout = mode === 'lora' ? input.adapter.lora.dropout : 0;
  const loraLayers = new Set(Object.keys(input.adapter.layers));

  const B = Math.max(1, opts.batchSize);
  const perBatchNew = nReplay > 0 && input.replayRatio > 0 ? Math.max(1, Math.round(B * (1 - input.replayRatio))) : B;
  const perBatchReplay = nReplay > 0 && input.replayRatio > 0 ? B - perBatchNew : 0;
  const h0Buffer = new Float32Array(B * D);
  const valRows = Array.from({ length: validation.length }, (_, i) => nTrain + nReplay + i);

  const logitsFor = (rows: readonly number[]): Float32Array => {
    const out = new Float32Array(rows.length * C);
    const chunk = 1024;
    const buf = new Float32Array(Math.min(chunk, rows.length) * D);
    for (let s = 0; s < rows.length; s += chunk) {
      const part = rows.slice(s, s + chunk);
      fillH0(part, buf);
      const logits = tf.tidy(() => net.forward(tf.tensor2d(buf.subarray(0, part.length * D), [part.length, D])));
      out.set(logits.dataSync(), s * C);
      logits.dispose();
    }
    return out;
  };
  function fillH0(rows: readonly number[], out: Float32Array): void {
    if (cachedH0 !== undefined) {
      rows.forEach((r, k) => out.set(cachedH0.subarray(r * D, r * D + D), k * D));
    } else {
      embeddingBag(embedding, D, feats, rows, out);
    }
  }
  /** validation accuracy and mean cross-entropy */
  const validate = (): { acc: number; loss: number; logits?: Float32Array } => {
    if (valRows.length === 0) return { acc: NaN, loss: NaN };
    const logits = logitsFor(valRows);
    let correct = 0;
    let loss = 0;
    valRows.forEach((r, k) => {
      if (argmaxRow(logits, k, C) === y[r]) correct++;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, logits[k * C + c] as number);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp((logits[k * C + c] as number) - max);
      loss += max + Math.log(z) - (logits[k * C + (y[r] as number)] as number);
    });
    return { acc: correct / valRows.length, loss: loss / valRows.length, logits };
  };

  const history: TrainResult['history'] = [];
  let best: { acc: number; loss: number; epoch: number; snap: Map<string, Float32Array>; embedding: Float32Array | undefined; logits?: Float32Array | undefined } = { acc: -Infinity, loss: Infinity, epoch: 0, snap: net.snapshot(), embedding: undefined };
  let sinceBest = 0;
  let samples = 0;
  const order = Array.from({ length: nTrain }, (_, i) => i);
  for (let epoch = 1; epoch <= opts.epochs && nTrain > 0; epoch++) {
    shuffleInPlace(order, rng);
    let lossSum = 0;
    let steps = 0;
    for (let s = 0; s < nTrain; s += perBatchNew) {
      const rows = order.slice(s, s + perBatchNew);
      for (let k = 0; k < perBatchReplay; k++) rows.push(nTrain + rng.int(nReplay));
      const n = rows.length;
      fillH0(rows, h0Buffer);
      const masks = loraDropout > 0 ? model.hiddenUnits.map((_, i) => (loraLayers.has(`dense${i}`) ? dropoutMask(n, i === 0 ? D : (model.hiddenUnits[i - 1] as number), loraDropout, rng) : undefined)) : undefined;
      const teacherBatch = teacherLogits !== undefined ? gatherRows(teacherLogits, rows, teacherC) : teacherLazy?.gather(rows);
      const h0Grad = tf.tidy(() => {
        const h0 = tf.tensor2d(h0Buffer.subarray(0, n * D), [n, D]);
        const target = tf.oneHot(tf.tensor1d(rows.map((r) => y[r] as number), 'int32'), C);
        const w = tf.tensor1d(rows.map((r) => sampleWeight[r] as number));
        const wSum = rows.reduce((acc, r) => acc + (sampleWeight[r] as number), 0) || 1;
        const maskTensors = masks?.map((m) => (m === undefined ? undefined : tf.tensor2d(m, [n, m.length / n])));
        const lossFn = (): tf.Scalar => {
          const logits = net.forward(h0, maskTensors);
          const ce = tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1));
          let loss: tf.Tensor = tf.div(tf.sum(tf.mul(ce, w)), wSum);
          if (teacherBatch !== undefined && input.teacher !== undefined) {
            const teacher = tf.tensor2d(teacherBatch, [n, teacherC]);
            loss = tf.add(loss, distillationLoss(logits, teacher, w, wSum, input.teacher.temperature, input.teacher.weight));
          }
          if (ewc.length > 0 && input.ewc !== undefined) loss = tf.add(loss, ewcPenaltyTensor(ewc, input.ewc.lambda));
          return loss as tf.Scalar;
        };
        const xs: tf.Tensor[] = trainEmbedding ? [...vars, h0] : vars;
        const { value, grads } = tf.engine().gradients(lossFn, xs, undefined, true);
        lossSum += value.dataSync()[0] as number;
        optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })));
        // The tensor, not its data: tidy walks a returned typed array element by element.
        return trainEmbedding ? (grads[vars.length] as tf.Tensor) : undefined;
      });
      if (h0Grad !== undefined && adagrad !== undefined && scratch !== undefined) {
        sparseAdagrad(embedding, adagrad, D, feats, rows, h0Grad.dataSync() as Float32Array, opts.embeddingLearningRate, scratch);
        h0Grad.dispose();
      }
      steps++;
      samples += n;
    }
    const val = validate();
    history.push({ epoch, loss: lossSum / Math.max(1, steps), valAccuracy: val.acc });
    // Better = higher accuracy, or equal accuracy with lower loss (accuracy alone plateaus on small sets).
    const improved = Number.isNaN(val.acc) || val.acc > best.acc + 1e-9 || (Math.abs(val.acc - best.acc) <= 1e-9 && val.loss < best.loss);
    if (improved) {
      // The table is copied (32 MB at the default size) only when a later epoch could still replace
      // it; undefined = the table as it is now (epoch 0: untouched, last epoch: nothing trains after).
      best = { acc: val.acc, loss: val.loss, epoch, snap: net.snapshot(), embedding: trainEmbedding && epoch < opts.epochs ? embedding.slice() : undefined, logits: val.logits };
      sinceBest = 0;
    } else if (++sinceBest >= opts.patience) {
      break;
    }
  }
  net.restore(best.snap);
  if (best.embedding !== undefined) embedding.set(best.embedding);
  const trainSeconds = (performance.now() - started) / 1000;
  // Validation metrics of the kept epoch (its logits were kept when it was scored).
  const valLogits = best.logits ?? logitsFor(valRows);
  const valEval = evaluate(
    valRows.map((r) => labels[y[r] as number] as string),
    valRows.map((_, k) => labels[argmaxRow(valLogits, k, C)] as string),
    { labels },
  );
  const calibrationRows = heldOut.length > 0 ? heldOut.length : input.heldOutValidation === undefined ? valRows.length : 0;
  const temperature = fitTemperature(valLogits.subarray(0, calibrationRows * C), y.subarray(nTrain + nReplay, nTrain + nReplay + calibrationRows), C);
  const exported = net.export({ embedding: mode === 'full' ? embedding : input.base.embedding, dense: input.base.dense }, input.adapter);
  if (mode === 'full') delete exported.adapter.embeddingDelta;
  if (deltaRows > 0) exported.adapter.embeddingDelta = extractEmbeddingDelta(embedding, input.base.embedding, D, deltaRows);
  net.dispose();
  teacherLazy?.dispose();
  optimizer.dispose();
  tf.dispose(ewc.flatMap((e) => [e.fisher, e.anchor]));
  return {
    base: exported.base,
    adapter: exported.adapter,
    result: {
      bestEpoch: best.epoch,
      epochs: history.length,
      history,
      validation: valEval,
      seconds: trainSeconds,
      samplesPerSecond: samples / Math.max(1e-9, trainSeconds),
    },
    temperature,
  };
}

function dropoutMask(rows: number, cols: number, p: number, rng: Rng): Float32Array {
  const m = new Float32Array(rows * cols);
  const keep = 1 / (1 - p);
  for (let i = 0; i < m.length; i++) m[i] = rng.next() < p ? 0 : keep;
  return m;
}

function gatherRows(m: Float32Array, rows: readonly number[], cols: number): Float32Array {
  const out = new Float32Array(rows.length * cols);
  rows.forEach((r, k) => out.set(m.subarray(r * cols, r * cols + cols), k * cols));
  return out;
}


/** A feature batch with no features, for encoder bases (nothing reads it). */
function emptyFeatures(rows: number): FeatureBatch {
  return { rows, maxFeatures: 0, indices: new Int32Array(0), weights: new Float32Array(0), counts: new Int32Array(rows) };
}

function copyWithDelta(base: Float32Array, D: number, delta: EmbeddingDelta | undefined): Float32Array {
  const out = base.slice();
  if (delta !== undefined) addEmbeddingDelta(out, D, delta);
  return out;
}
