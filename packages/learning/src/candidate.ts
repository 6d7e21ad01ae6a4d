import { fitTemperature, logitsEce } from './calibration.js';
import type { Example } from './data.js';
import { evaluate, type Evaluation } from './evaluate.js';
import type { CandidateScores } from './gates.js';
import { argmaxRow } from './model.js';
import { TRAINER_DEFAULT_OPTIONS, resolveOptions, type DeepPartial, type TrainOptions } from './options.js';
import { describeRows, partitionByGroup, type DataSplits, type SplitConfig } from './splits.js';
import type { TrainingState } from './state.js';
import { createTfClassifier } from './tfClassifier.js';
import { continueTraining, trainBase, type TrainResult } from './train.js';

/**
 * The one path from data to a scored model version, used by the trainer, `flywheel bootstrap` and
 * `bench:learn`: partition by group hash (train / validation / gate / test, see splits.ts), train
 * on train only, stop early and fit the temperature on validation, score the gates on gate, report
 * on test.
 */

/** How the rows of one update are assembled. */
export interface CandidateDataSettings {
  split?: Partial<SplitConfig>;
  /** newest old rows kept from the previous snapshot (older ones are dropped from the snapshot) */
  oldMaxRows?: number;
  /** old training rows trained on again (0: the replay reservoir is the memory of old data) */
  oldTrainMaxRows?: number;
}

/** What a trained version reports: accuracy, calibration and the sets it was measured on. */
export interface VersionReport {
  /** flat numbers for the registry (sizes and 48-bit content hashes of every set included) */
  metrics: Record<string, number>;
  splits: Record<keyof DataSplits, { rows: number; hash: number }>;
  test: Evaluation | undefined;
}

export interface CandidateResult extends VersionReport {
  state: TrainingState;
  training: TrainResult;
  scores: CandidateScores;
  /** all rows to store with the version (the next update re-partitions them identically) */
  snapshot: Example[];
  options: TrainOptions;
}

const isTruth = (e: Example): boolean => e.source !== 'pseudo_label';

/** Logits [rows, C] (raw, no temperature), or an empty array. */
function logitsOf(state: TrainingState, rows: readonly Example[]): Float32Array {
  if (rows.length === 0) return new Float32Array(0);
  const clf = createTfClassifier(state);
  try {
    return clf.logits(rows.map((r) => r.text));
  } finally {
    clf.dispose();
  }
}

/** Accuracy of a state on rows (NaN when empty); rows of labels it does not know count as wrong. */
export function accuracyOn(state: TrainingState, rows: readonly Example[]): number {
  return accuracyOfRange(correctRows(state, rows), 0, rows.length);
}

/** 1 per row the state gets right, from one inference pass (scoring a set and its parts costs one pass). */
function correctRows(state: TrainingState, rows: readonly Example[]): Uint8Array {
  const z = logitsOf(state, rows);
  const C = state.labels.length;
  const out = new Uint8Array(rows.length);
  rows.forEach((r, i) => {
    if (state.labels[argmaxRow(z, i, C)] === r.label) out[i] = 1;
  });
  return out;
}

/** Share of rows [from, to) that are right (NaN when empty). */
function accuracyOfRange(correct: Uint8Array, from: number, to: number): number {
  if (to <= from) return NaN;
  let ok = 0;
  for (let i = from; i < to; i++) ok += correct[i] as number;
  return ok / (to - from);
}

/** Test-set accuracy, macro-F1 and ECE (15 bins) before and after the state's temperature, plus split sizes/hashes. */
export function reportVersion(state: TrainingState, splits: DataSplits, extra: Record<string, number> = {}): VersionReport {
  const known = new Map(state.labels.map((l, i) => [l, i]));
  return reportFromLogits(state, splits, extra, logitsOf(state, splits.test.filter((e) => known.has(e.label))));
}

/** reportVersion with the logits of the test rows whose label the state knows already computed. */
function reportFromLogits(state: TrainingState, splits: DataSplits, extra: Record<string, number>, z: Float32Array): VersionReport {
  const known = new Map(state.labels.map((l, i) => [l, i]));
  const test = splits.test.filter((e) => known.has(e.label));
  const C = state.labels.length;
  const y = Int32Array.from(test.map((e) => known.get(e.label) as number));
  const T = state.temperature ?? 1;
  const evaluation = test.length > 0 ? evaluate(test.map((e) => e.label), test.map((_, i) => state.labels[argmaxRow(z, i, C)] as string), { labels: state.labels }) : undefined;
  const described = {
    train: describeRows(splits.train),
    validation: describeRows(splits.validation),
    gate: describeRows(splits.gate),
    test: describeRows(splits.test),
  };
  const metrics: Record<string, number> = { ...extra, temperature: T };
  for (const [name, d] of Object.entries(described)) {
    metrics[`${name}Rows`] = d.rows;
    metrics[`${name}Hash`] = d.hash;
  }
  if (evaluation !== undefined) {
    metrics.accuracy = evaluation.accuracy;
    metrics.macroF1 = evaluation.macroF1;
    metrics.eceRaw = logitsEce(z, y, C, 1);
    metrics.eceCalibrated = logitsEce(z, y, C, T);
  }
  // The registry stores finite numbers only (an empty set has no accuracy).
  for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) delete metrics[k];
  return { metrics, splits: described, test: evaluation };
}

/** The training options as numbers for the registry (which configuration produced the version). */
export function optionsMetrics(o: TrainOptions): Record<string, number> {
  return {
    optModeFull: o.mode === 'full' ? 1 : 0,
    optLoraRank: o.lora.rank,
    optEpochs: o.epochs,
    optMinStepsPerEpoch: o.minStepsPerEpoch,
    optLearningRate: o.learningRate.continued,
    optReplayCapacity: o.strategy.replay?.capacity ?? 0,
    optNewClassMinShare: o.strategy.replay?.newClassMinShare ?? 0,
    optDistillationWeight: o.strategy.distillation?.weight ?? 0,
    optEwcLambda: o.strategy.ewc?.lambda ?? 0,
    optBiasCorrection: o.strategy.biasCorrection === true ? 1 : 0,
    optEmbeddingDeltaRows: o.mode === 'lora' ? (o.embeddingDelta?.maxRows ?? 0) : 0,
  };
}

/** First version of a model: a new base trained on the train part of `examples`. */
export async function bootstrapCandidate(examples: readonly Example[], options: DeepPartial<TrainOptions> = {}, split: Partial<SplitConfig> = {}): Promise<CandidateResult> {
  const splits = partitionByGroup(examples, split);
  const opts = resolveOptions(options);
  const training = await trainBase(splits.train, { ...options, validation: splits.validation });
  const state = training.state;
  const gateAccuracy = accuracyOn(state, splits.gate);
  const report = reportVersion(state, splits, { ...optionsMetrics(opts), trainSeconds: training.seconds, epochs: training.epochs, gateAccuracy });
  return { ...report, state, training, scores: { accuracy: gateAccuracy, championAccuracy: 0, forgetting: 0 }, snapshot: [...examples], options: opts };
}

/**
 * An update of `champion` with `fresh` rows (corrections, confirmations, pseudo-labels) and the
 * previous snapshot: partitions both, trains from the champion, scores candidate and champion on
 * the gate set (forgetting on its old part) and reports on the test set.
 */
export async function trainCandidate(
  champion: TrainingState,
  data: { fresh: readonly Example[]; previous: readonly Example[] },
  options: DeepPartial<TrainOptions> = TRAINER_DEFAULT_OPTIONS,
  settings: CandidateDataSettings = {},
): Promise<CandidateResult> {
  const oldMax = settings.oldMaxRows ?? 20_000;
  const old = data.previous.length > oldMax ? data.previous.slice(data.previous.length - oldMax) : [...data.previous];
  const teaching = data.fresh.filter(isTruth);
  const pseudo = data.fresh.filter((e) => !isTruth(e));
  const total = old.length + teaching.length;
  const o = partitionByGroup(old, settings.split, total);
  const f = partitionByGroup(teaching, settings.split, total);
  const oldTrain = o.train.slice(Math.max(0, o.train.length - (settings.oldTrainMaxRows ?? 0)));
  const splits: DataSplits = {
    // Pseudo-labels are the model's own outputs: trained on, never used to judge.
    train: [...oldTrain, ...f.train, ...pseudo],
    validation: [...o.validation, ...f.validation],
    gate: [...o.gate, ...f.gate],
    test: [...o.test, ...f.test],
  };
  const opts = resolveOptions(options);
  const training = await continueTraining({ base: champion, current: champion }, splits.train, { ...options, validation: splits.validation });
  const state = training.state;
  // splits.gate starts with the old gate rows: one pass per model scores the whole set and its old part.
  const candGate = correctRows(state, splits.gate);
  const champGate = correctRows(champion, splits.gate);
  const gateAll = { cand: accuracyOfRange(candGate, 0, splits.gate.length), champ: accuracyOfRange(champGate, 0, splits.gate.length) };
  const gateOld = { cand: accuracyOfRange(candGate, 0, o.gate.length), champ: accuracyOfRange(champGate, 0, o.gate.length) };
  const scores: CandidateScores = {
    accuracy: Number.isNaN(gateAll.cand) ? training.validation.accuracy : gateAll.cand,
    championAccuracy: Number.isNaN(gateAll.champ) ? 0 : gateAll.champ,
    forgetting: Number.isNaN(gateOld.cand) ? 0 : Math.max(0, gateOld.champ - gateOld.cand),
  };
  // One pass over the test rows serves the report and its old / new parts (splits.test = old, then new).
  const known = new Set(state.labels);
  const testKnown = splits.test.filter((e) => known.has(e.label));
  const testLogits = logitsOf(state, testKnown);
  const testCorrect = new Uint8Array(splits.test.length);
  {
    const C = state.labels.length;
    let k = 0;
    splits.test.forEach((e, i) => {
      if (!known.has(e.label)) return;
      if (state.labels[argmaxRow(testLogits, k, C)] === e.label) testCorrect[i] = 1;
      k++;
    });
  }
  const testOld = accuracyOfRange(testCorrect, 0, o.test.length);
  const testNew = accuracyOfRange(testCorrect, o.test.length, splits.test.length);
  const extra: Record<string, number> = {
    // The mode chosen for this update (updateMode.ts), not only the configured one.
    ...optionsMetrics(training.usedOptions ?? opts),
    gateAccuracy: scores.accuracy,
    championAccuracy: scores.championAccuracy,
    improvement: scores.accuracy - scores.championAccuracy,
    forgetting: scores.forgetting,
    epochs: training.epochs,
    trainSeconds: training.seconds,
    samplesPerSecond: training.samplesPerSecond,
    newClassShift: training.newClassShift ?? 0,
    ...(training.replayRatio !== undefined ? { replayRatio: training.replayRatio } : {}),
    newBase: state.baseVersion !== champion.baseVersion ? 1 : 0,
    ...(Number.isNaN(testOld) ? {} : { oldAccuracy: testOld }),
    ...(Number.isNaN(testNew) ? {} : { newAccuracy: testNew }),
  };
  return { ...reportFromLogits(state, splits, extra, testLogits), state, training, scores, snapshot: [...old, ...data.fresh], options: opts };
}

/** Refits a state's temperature on held-out rows (used when a version was trained without one). */
export function calibrate(state: TrainingState, rows: readonly Example[]): number {
  const known = new Map(state.labels.map((l, i) => [l, i]));
  const held = rows.filter((e) => known.has(e.label));
  return fitTemperature(logitsOf(state, held), Int32Array.from(held.map((e) => known.get(e.label) as number)), state.labels.length);
}
