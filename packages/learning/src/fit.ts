import { fitTemperature } from './calibration.js';
import type { Example } from './data.js';
import { evaluate } from './evaluate.js';
import { createFeaturizer, type FeatureBatch } from './features.js';
import { addEmbeddingDelta, argmaxRow, effectiveEmbedding, embeddingBag, extractEmbeddingDelta, headInputs, type RowsOf } from './model.js';
import { createDenseTrainer } from './denseTrainer.js';
import type { TrainMode } from './network.js';
import { createSparseScratch, sparseAdagrad } from './optimiser.js';
import type { TrainOptions, WeightedExample } from './options.js';
import { shuffleInPlace, type Rng } from './random.js';
import type { AdapterWeights, BaseWeights, EmbeddingDelta, ModelConfig, TrainingState } from './state.js';
import { fitNewClassShift, onNewClasses, shiftNewClasses } from './strategies/biasCorrection.js';
import { addDistillationGradient, computeTeacherFromRows, lazyTeacher } from './strategies/distillation.js';
import type { PaddedFisher } from './strategies/ewc.js';
import { rebalanceWeights } from './strategies/replay.js';
import type { TrainResult } from './train.js';
import { alignNewClassWeights } from './weightAlign.js';

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
  /** labels before this update: the rest are new, and their logits get the fitted bias correction */
  newClassShiftFrom?: number;
  /** labels before this update: the new classes' head columns are weight-aligned to the old ones (weightAlign.ts) */
  alignNewClassesFrom?: number;
  /** h0 of texts from a frozen encoder base ([texts, embeddingDim]); absent: the n-gram embedding bag */
  rowsOf?: RowsOf;
}

export interface FitOutput {
  base: BaseWeights;
  adapter: AdapterWeights;
  result: Omit<TrainResult, 'state' | 'startedFrom' | 'learningRate' | 'backend'>;
  /** fitted on the held-out validation rows (1 when there are too few) */
  temperature: number;
  /** bias correction added to the new classes' logits (0: none) */
  newClassShift: number;
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
  const embedding = mode === 'full' || deltaRows > 0 ? copyWithDelta(input.base.embedding, D, input.adapter.embeddingDelta) : effectiveEmbedding({ base: input.base, adapter: input.adapter, model });
  // Frozen embedding: the bag output of every row never changes, so compute it once.
  const cachedH0 = input.rowsOf !== undefined ? input.rowsOf(texts) : !trainEmbedding ? new Float32Array(texts.length * D) : undefined;
  if (cachedH0 !== undefined && input.rowsOf === undefined) embeddingBag(embedding, D, feats, undefined, cachedH0);

  const net = createDenseTrainer(model, input.base, input.adapter, C, mode, { learningRate: input.lr }, input.ewc);
  // Encoder base: h0 is at hand, so all teacher logits up front; n-gram bag: per row on first draw.
  const teacherLogits = input.teacher !== undefined && cachedH0 !== undefined && input.rowsOf !== undefined ? computeTeacherFromRows(input.teacher.state, cachedH0, nTrain + nReplay) : undefined;
  const teacherLazy = input.teacher !== undefined && teacherLogits === undefined ? lazyTeacher(input.teacher.state, feats, nTrain + nReplay) : undefined;
  const teacherC = input.teacher?.state.labels.length ?? 0;
  const adagrad = trainEmbedding ? new Float32Array(model.features.buckets) : undefined;
  const scratch = trainEmbedding ? createSparseScratch(model.features.buckets, Math.max(1, opts.batchSize) * model.features.maxFeatures, D) : undefined;
  const loraDropout = mode === 'lora' ? input.adapter.lora.dropout : 0;
  const loraLayers = new Set(Object.keys(input.adapter.layers));

  const B = Math.max(1, opts.batchSize);
  const perBatchNew = nReplay > 0 && input.replayRatio > 0 ? Math.max(1, Math.round(B * (1 - input.replayRatio))) : B;
  const perBatchReplay = nReplay > 0 && input.replayRatio > 0 ? B - perBatchNew : 0;
  const h0Buffer = new Float32Array(B * D);
  const h0Grad = trainEmbedding ? new Float32Array(B * D) : undefined;
  const rowWeight = new Float32Array(B);
  const valRows = Array.from({ length: validation.length }, (_, i) => nTrain + nReplay + i);

  const logitsFor = (rows: readonly number[]): Float32Array => {
    const out = new Float32Array(rows.length * C);
    const chunk = 1024;
    const buf = new Float32Array(Math.min(chunk, rows.length) * D);
    for (let s = 0; s < rows.length; s += chunk) {
      const part = rows.slice(s, s + chunk);
      fillH0(part, buf);
      out.set(net.logits(buf, part.length), s * C);
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
  // The best epoch's table, when a later epoch could still replace it: one buffer for the whole fit,
  // overwritten at each new best. A fresh 32 MB table per improved epoch cost about 90 ms each (page
  // faults on new memory), against about 10 ms to copy into memory already touched.
  let bestTable: Float32Array | undefined;
  const order = Array.from({ length: nTrain }, (_, i) => i);
  // A small update (a few corrections of a new category) would take one or two optimiser steps per
  // epoch and learn nothing: its epoch passes over its rows again (reshuffled) until it has taken
  // minStepsPerEpoch steps. An update with enough rows takes one pass, as before.
  const passes = nTrain === 0 ? 0 : Math.max(1, Math.ceil(opts.minStepsPerEpoch / Math.ceil(nTrain / perBatchNew)));
  for (let epoch = 1; epoch <= opts.epochs && nTrain > 0; epoch++) {
    let lossSum = 0;
    let steps = 0;
    for (let pass = 0; pass < passes; pass++) {
      shuffleInPlace(order, rng);
      for (let s = 0; s < nTrain; s += perBatchNew) {
        const rows = order.slice(s, s + perBatchNew);
        for (let k = 0; k < perBatchReplay; k++) rows.push(nTrain + rng.int(nReplay));
        const n = rows.length;
        fillH0(rows, h0Buffer);
        const masks = loraDropout > 0 ? model.hiddenUnits.map((_, i) => (loraLayers.has(`dense${i}`) ? dropoutMask(n, i === 0 ? D : (model.hiddenUnits[i - 1] as number), loraDropout, rng) : undefined)) : undefined;
        const teacherBatch = teacherLogits !== undefined ? gatherRows(teacherLogits, rows, teacherC) : teacherLazy?.gather(rows);
        let wSum = 0;
        for (const r of rows) wSum += sampleWeight[r] as number;
        wSum = wSum || 1;
        rows.forEach((r, k) => (rowWeight[k] = (sampleWeight[r] as number) / wSum));
        const teacher = input.teacher;
        // Weighted cross-entropy (+ distillation on the old classes) and its gradient, in JS.
        const lossGradient = (logits: Float32Array, rowsIn: number, dl: Float32Array): number => {
          let loss = 0;
          for (let k = 0; k < rowsIn; k++) {
            const o = k * C;
            const w = rowWeight[k] as number;
            let max = -Infinity;
            for (let c = 0; c < C; c++) max = Math.max(max, logits[o + c] as number);
            let z = 0;
            for (let c = 0; c < C; c++) {
              const e = Math.exp((logits[o + c] as number) - max);
              dl[o + c] = e;
              z += e;
            }
            for (let c = 0; c < C; c++) dl[o + c] = ((dl[o + c] as number) / z) * w;
            const target = y[rows[k] as number] as number;
            dl[o + target] = (dl[o + target] as number) - w;
            loss += w * (max + Math.log(z) - (logits[o + target] as number));
          }
          if (teacherBatch !== undefined && teacher !== undefined) loss += addDistillationGradient(logits, C, teacherBatch, teacherC, rowWeight, rowsIn, teacher.temperature, teacher.weight, dl);
          return loss;
        };
        lossSum += net.step({ h0: h0Buffer, n, lossGradient, masks, inputGradient: h0Grad });
        if (h0Grad !== undefined && adagrad !== undefined && scratch !== undefined) {
          sparseAdagrad(embedding, adagrad, D, feats, rows, h0Grad, opts.embeddingLearningRate, scratch);
        }
        steps++;
        samples += n;
      }
    }
    const val = validate();
    history.push({ epoch, loss: lossSum / Math.max(1, steps), valAccuracy: val.acc });
    // Better = higher accuracy, or equal accuracy with lower loss (accuracy alone plateaus on small sets).
    const improved = Number.isNaN(val.acc) || val.acc > best.acc + 1e-9 || (Math.abs(val.acc - best.acc) <= 1e-9 && val.loss < best.loss);
    if (improved) {
      // The table is copied (32 MB at the default size) only when a later epoch could still replace
      // it; undefined = the table as it is now (epoch 0: untouched, last epoch: nothing trains after).
      const keepTable = trainEmbedding && epoch < opts.epochs;
      if (keepTable) (bestTable ??= new Float32Array(embedding.length)).set(embedding);
      best = { acc: val.acc, loss: val.loss, epoch, snap: net.snapshot(), embedding: keepTable ? bestTable : undefined, logits: val.logits };
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
  const heldLogits = valLogits.slice(0, calibrationRows * C);
  const heldY = y.subarray(nTrain + nReplay, nTrain + nReplay + calibrationRows);
  const exported = net.export({ embedding: mode === 'full' ? embedding : input.base.embedding, dense: input.base.dense }, input.adapter);
  // Head corrections come before the temperature, which must be fitted to the logits the version
  // will produce. Weight aligning scales the new columns (kernel and bias) by gamma, so their logits
  // scale by gamma too: the held-out logits follow without another pass.
  const gamma = input.alignNewClassesFrom !== undefined ? alignNewClassWeights(exported.adapter.head, headInputs(model), input.alignNewClassesFrom) : 1;
  if (gamma !== 1) onNewClasses(heldLogits, C, input.alignNewClassesFrom as number, (x) => x * gamma);
  // Bias correction on held-out rows only (rows trained on would favour whatever was learned last).
  const shift = input.newClassShiftFrom !== undefined && heldOut.length > 0 ? fitNewClassShift(heldLogits, heldY, C, input.newClassShiftFrom) : 0;
  shiftNewClasses(heldLogits, C, input.newClassShiftFrom ?? C, shift);
  if (shift !== 0) shiftNewClasses(exported.adapter.head.bias, C, input.newClassShiftFrom ?? C, shift);
  const temperature = fitTemperature(heldLogits, heldY, C);
  if (mode === 'full') delete exported.adapter.embeddingDelta;
  if (deltaRows > 0) exported.adapter.embeddingDelta = extractEmbeddingDelta(embedding, input.base.embedding, D, deltaRows, changedRows(adagrad, input.adapter.embeddingDelta));
  net.dispose();
  teacherLazy?.dispose();
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
    newClassShift: shift,
  };
}

/** Embedding rows that may differ from the base: those the optimiser touched, and an earlier delta's. */
function changedRows(adagrad: Float32Array | undefined, earlier: EmbeddingDelta | undefined): number[] {
  const rows = new Set(earlier?.rows ?? []);
  if (adagrad !== undefined) for (let r = 0; r < adagrad.length; r++) if ((adagrad[r] as number) > 0) rows.add(r);
  return [...rows].sort((a, b) => a - b);
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
