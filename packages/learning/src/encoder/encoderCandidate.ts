import { logitsEce } from '../calibration.js';
import type { Example } from '../data.js';
import { evaluate } from '../evaluate.js';
import type { CandidateScores } from '../gates.js';
import { LearningError } from '../errors.js';
import { argmaxRow, type RowsOf } from '../model.js';
import { BOOTSTRAP_OPTIONS, ENCODER_TRAINER_DEFAULT_OPTIONS, resolveOptions, type DeepPartial, type TrainOptions } from '../options.js';
import { describeRows, partitionByGroup, type DataSplits, type SplitConfig } from '../splits.js';
import type { TrainingState } from '../state.js';
import { createTfClassifier } from '../tfClassifier.js';
import type { TrainResult } from '../train.js';
import { optionsMetrics, type CandidateDataSettings } from '../candidate.js';
import { MemoryEmbeddingCache } from './embeddingCache.js';
import { continueEncoderTraining, encoderRows, encoderUpdateOptions, trainEncoderBase, type EmbeddingUse, type EncoderSource } from './encoderTraining.js';

/**
 * bootstrapCandidate / trainCandidate (candidate.ts) for a model on a frozen encoder base, plus the
 * first update of an imported classifier. Same partition by group hash, same gate and report
 * numbers; the difference is that every text is embedded once, through the cache, before training.
 * (candidate.ts takes no RowsOf, so its scoring cannot run on an encoder state; hence this file.)
 */

/** What a user's classifier offers as a teacher: its labels and raw logits [labels] per text. */
export interface ClassifierTeacher {
  readonly labels: readonly string[];
  logits(texts: readonly string[]): Promise<Float32Array[]>;
}

export interface EncoderCandidateResult {
  state: TrainingState;
  training: TrainResult;
  scores: CandidateScores;
  /** flat numbers for the registry; embedding use included (embeddingTexts, embeddingCacheHits, embeddingsComputed) */
  metrics: Record<string, number>;
  /** all rows to store with the version */
  snapshot: Example[];
  embeddings: EmbeddingUse;
}

const isTruth = (e: Example): boolean => e.source !== 'pseudo_label';
const texts = (rows: readonly Example[]): string[] => rows.map((r) => r.text);

/** One source with a cache that lives for the whole run, so training's own lookups are hits. */
const withCache = (source: EncoderSource): Required<EncoderSource> => ({ encoder: source.encoder, cache: source.cache ?? new MemoryEmbeddingCache() });

function logitsOf(state: TrainingState, rowsOf: RowsOf, rows: readonly Example[]): Float32Array {
  if (rows.length === 0) return new Float32Array(0);
  const clf = createTfClassifier(state, { rowsOf });
  try {
    return clf.logits(texts(rows));
  } finally {
    clf.dispose();
  }
}

/** Share of `rows` whose argmax label is right (NaN when empty); `labels` index the logits' columns. */
function accuracyFrom(z: Float32Array, labels: readonly string[], rows: readonly Example[]): number {
  if (rows.length === 0) return NaN;
  let ok = 0;
  rows.forEach((r, i) => {
    if (labels[argmaxRow(z, i, labels.length)] === r.label) ok++;
  });
  return ok / rows.length;
}

/** Test accuracy, macro-F1, ECE before/after temperature and every set's size and hash, as candidate.ts reports them. */
function report(state: TrainingState, rowsOf: RowsOf, splits: DataSplits, extra: Record<string, number>): Record<string, number> {
  const known = new Map(state.labels.map((l, i) => [l, i]));
  const test = splits.test.filter((e) => known.has(e.label));
  const C = state.labels.length;
  const T = state.temperature ?? 1;
  const metrics: Record<string, number> = { ...extra, temperature: T };
  for (const [name, rows] of Object.entries(splits)) {
    const d = describeRows(rows);
    metrics[`${name}Rows`] = d.rows;
    metrics[`${name}Hash`] = d.hash;
  }
  if (test.length > 0) {
    const z = logitsOf(state, rowsOf, test);
    const y = Int32Array.from(test.map((e) => known.get(e.label) as number));
    const evaluation = evaluate(test.map((e) => e.label), test.map((_, i) => state.labels[argmaxRow(z, i, C)] as string), { labels: state.labels });
    metrics.accuracy = evaluation.accuracy;
    metrics.macroF1 = evaluation.macroF1;
    metrics.eceRaw = logitsEce(z, y, C, 1);
    metrics.eceCalibrated = logitsEce(z, y, C, T);
  }
  for (const [k, v] of Object.entries(metrics)) if (!Number.isFinite(v)) delete metrics[k];
  return metrics;
}

const useMetrics = (use: EmbeddingUse): Record<string, number> => ({ embeddingTexts: use.texts, embeddingCacheHits: use.hits, embeddingsComputed: use.embedded });

/** First version of a model on an encoder base: projection and head trained on the train part of `examples`. */
export async function bootstrapEncoderCandidate(
  examples: readonly Example[],
  source: EncoderSource,
  options: DeepPartial<TrainOptions> = BOOTSTRAP_OPTIONS,
  split: Partial<SplitConfig> = {},
): Promise<EncoderCandidateResult> {
  const src = withCache(source);
  const splits = partitionByGroup(examples, split);
  const { rowsOf, use } = await encoderRows(src, texts(examples));
  const training = await trainEncoderBase(splits.train, src, { ...options, validation: splits.validation });
  const state = training.state;
  const gateAccuracy = accuracyFrom(logitsOf(state, rowsOf, splits.gate), state.labels, splits.gate);
  const gate = Number.isNaN(gateAccuracy) ? training.validation.accuracy : gateAccuracy;
  const metrics = report(state, rowsOf, splits, { ...optionsMetrics(resolveOptions(options)), ...useMetrics(use), trainSeconds: training.seconds, epochs: training.epochs, gateAccuracy: gate });
  return { state, training, scores: { accuracy: gate, championAccuracy: 0, forgetting: 0 }, metrics, snapshot: [...examples], embeddings: use };
}

/** The rows of one update, partitioned as candidate.ts partitions them (old and fresh separately, pseudo-labels train only). */
function updateSplits(data: { fresh: readonly Example[]; previous: readonly Example[] }, settings: CandidateDataSettings): { splits: DataSplits; old: Example[]; oldGate: number; oldTest: number } {
  const oldMax = settings.oldMaxRows ?? 20_000;
  const old = data.previous.length > oldMax ? data.previous.slice(data.previous.length - oldMax) : [...data.previous];
  const teaching = data.fresh.filter(isTruth);
  const pseudo = data.fresh.filter((e) => !isTruth(e));
  const total = old.length + teaching.length;
  const o = partitionByGroup(old, settings.split, total);
  const f = partitionByGroup(teaching, settings.split, total);
  const oldTrain = o.train.slice(Math.max(0, o.train.length - (settings.oldTrainMaxRows ?? 0)));
  return {
    splits: { train: [...oldTrain, ...f.train, ...pseudo], validation: [...o.validation, ...f.validation], gate: [...o.gate, ...f.gate], test: [...o.test, ...f.test] },
    old,
    oldGate: o.gate.length,
    oldTest: o.test.length,
  };
}

/** Scores of a candidate against its champion's logits on the gate rows (forgetting on the first `oldGate` of them). */
function gateScores(cand: Float32Array, candLabels: readonly string[], champ: Float32Array, champLabels: readonly string[], gate: readonly Example[], oldGate: number, fallback: number): CandidateScores {
  const all = { cand: accuracyFrom(cand, candLabels, gate), champ: accuracyFrom(champ, champLabels, gate) };
  const old = gate.slice(0, oldGate);
  const C = candLabels.length;
  const K = champLabels.length;
  const oldCand = accuracyFrom(cand.subarray(0, oldGate * C), candLabels, old);
  const oldChamp = accuracyFrom(champ.subarray(0, oldGate * K), champLabels, old);
  return {
    accuracy: Number.isNaN(all.cand) ? fallback : all.cand,
    championAccuracy: Number.isNaN(all.champ) ? 0 : all.champ,
    forgetting: Number.isNaN(oldCand) ? 0 : Math.max(0, oldChamp - oldCand),
  };
}

const scoreMetrics = (scores: CandidateScores): Record<string, number> => ({
  gateAccuracy: scores.accuracy,
  championAccuracy: scores.championAccuracy,
  improvement: scores.accuracy - scores.championAccuracy,
  forgetting: scores.forgetting,
});

/**
 * An update of a champion on an encoder base: LoRA on the projection and head, with replay,
 * distillation and EWC as options say, on rows embedded through the cache (a retrain embeds only
 * texts it has not seen on this base).
 */
export async function trainEncoderCandidate(
  champion: TrainingState,
  data: { fresh: readonly Example[]; previous: readonly Example[] },
  source: EncoderSource,
  options: DeepPartial<TrainOptions> = ENCODER_TRAINER_DEFAULT_OPTIONS,
  settings: CandidateDataSettings = {},
): Promise<EncoderCandidateResult> {
  const src = withCache(source);
  const { splits, old, oldGate } = updateSplits(data, settings);
  const all = [...old, ...data.fresh, ...(champion.replay ?? [])];
  const { rowsOf, use } = await encoderRows(src, texts(all));
  const training = await continueEncoderTraining({ base: champion, current: champion }, splits.train, src, { ...options, validation: splits.validation });
  const state = training.state;
  const scores = gateScores(logitsOf(state, rowsOf, splits.gate), state.labels, logitsOf(champion, rowsOf, splits.gate), champion.labels, splits.gate, oldGate, training.validation.accuracy);
  const extra = { ...optionsMetrics(resolveOptions(encoderUpdateOptions(options))), ...useMetrics(use), ...scoreMetrics(scores), epochs: training.epochs, trainSeconds: training.seconds, samplesPerSecond: training.samplesPerSecond, newBase: state.baseVersion !== champion.baseVersion ? 1 : 0 };
  return { state, training, scores, metrics: report(state, rowsOf, splits, extra), snapshot: [...old, ...data.fresh], embeddings: use };
}

/** The teacher's logits as one [rows, labels] block, in row order. */
async function teacherLogits(teacher: ClassifierTeacher, rows: readonly Example[]): Promise<Float32Array> {
  const K = teacher.labels.length;
  const out = new Float32Array(rows.length * K);
  (await teacher.logits(texts(rows))).forEach((r, i) => out.set(r, i * K));
  return out;
}

/**
 * The first update of an imported classifier (champion 1.0.0 served as it is): a student on the
 * frozen encoder that keeps what the classifier knew, then learns the corrections.
 * 1. Every training text without a person's label (the pseudo-labelled live traffic) is labelled
 *    by the classifier (its argmax); with the labelled rows, a student base (projection and head,
 *    trainEncoderBase) is trained: the classifier's knowledge moved onto the encoder, with a replay
 *    reservoir and Fisher of what it answered.
 * 2. The student is continued (continueEncoderTraining) on the true labels, with the student as
 *    the distillation teacher (softened logits) and replay/EWC as options say.
 * The gate compares the candidate with the classifier itself on the gate rows; forgetting counts
 * gate rows the classifier got right and the candidate gets wrong.
 * Hard labels in step 1: fit.ts distils from a TrainingState only; soft targets from the
 * classifier's own logits need a `teacher.logits` hook there.
 */
export async function distillImportedCandidate(
  teacher: ClassifierTeacher,
  data: { fresh: readonly Example[]; previous: readonly Example[] },
  source: EncoderSource,
  options: DeepPartial<TrainOptions> = ENCODER_TRAINER_DEFAULT_OPTIONS,
  settings: CandidateDataSettings = {},
): Promise<EncoderCandidateResult & { student: TrainingState }> {
  const src = withCache(source);
  const { splits, old } = updateSplits(data, settings);
  const everything = [...old, ...data.fresh];
  const { rowsOf, use } = await encoderRows(src, texts(everything));
  const K = teacher.labels.length;
  // Rows a person labelled keep their label; every other text (pseudo-labels: live traffic) gets the classifier's answer.
  const taught = async (rows: readonly Example[]): Promise<Example[]> => {
    const open = rows.filter((r) => !isTruth(r));
    const z = await teacherLogits(teacher, open);
    const answered = new Map(open.map((r, i) => [r, teacher.labels[argmaxRow(z, i, K)] as string]));
    return rows.map((r) => {
      const label = answered.get(r);
      return label === undefined ? r : { text: r.text, label, source: 'original' as const, ...(r.group !== undefined ? { group: r.group } : {}) };
    });
  };
  const studentRows = await taught(splits.train);
  const studentLabels = new Set(studentRows.map((r) => r.label));
  if (studentLabels.size < 2) {
    throw new LearningError('invalid_data', `the imported classifier's answers and the corrections name ${studentLabels.size} label(s) over ${studentRows.length} training texts; a student needs at least two: wait for more feedback (corrections or confident predictions of other labels) and retrain`);
  }
  const student = (await trainEncoderBase(studentRows, src, { ...options, validation: splits.validation })).state;
  const training = await continueEncoderTraining({ base: student, current: student }, splits.train, src, { ...options, validation: splits.validation });
  const state = training.state;
  const cand = logitsOf(state, rowsOf, splits.gate);
  const champ = await teacherLogits(teacher, splits.gate);
  const base = gateScores(cand, state.labels, champ, teacher.labels, splits.gate, 0, training.validation.accuracy);
  // Forgetting against a classifier with no old rows of its own: gate rows it answered right that the candidate does not.
  const rightBefore = splits.gate.flatMap((e, i) => (teacher.labels[argmaxRow(champ, i, K)] === e.label ? [i] : []));
  const C = state.labels.length;
  const lost = rightBefore.filter((i) => state.labels[argmaxRow(cand, i, C)] !== splits.gate[i]!.label).length;
  const scores: CandidateScores = { ...base, forgetting: splits.gate.length === 0 ? 0 : lost / splits.gate.length };
  const extra = { ...optionsMetrics(resolveOptions(encoderUpdateOptions(options))), ...useMetrics(use), ...scoreMetrics(scores), distilledFromImported: 1, studentRows: splits.train.length, epochs: training.epochs, trainSeconds: training.seconds, samplesPerSecond: training.samplesPerSecond, newBase: 1 };
  return { state, student, training, scores, metrics: report(state, rowsOf, splits, extra), snapshot: everything, embeddings: use };
}
