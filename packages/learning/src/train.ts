import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from './backend.js';
import { splitByGroup, type Example, type ExampleSource } from './data.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { createFeaturizer, DEFAULT_FEATURE_CONFIG, type FeatureBatch } from './features.js';
import { argmaxRow, embeddingBag, growHead, headInputs, initAdapter, initBase, padColumns } from './model.js';
import { createNetwork, type TrainMode } from './network.js';
import { createRng, shuffleInPlace, type Rng } from './random.js';
import { alignNewClassWeights } from './weightAlign.js';
import type { AdapterWeights, BaseWeights, FisherState, LoraConfig, ModelConfig, TrainingState } from './state.js';

/** Continual-learning strategies; each one present is on, and they combine. */
export interface StrategyConfig {
  /**
   * class-balanced reservoir of old rows; `ratio` = share of each batch drawn from it.
   * `rebalance` (default true): reweight the loss so each class counts as often as it did in all
   * rows seen so far (what a joint retrain sees); without it the few new classes fill half of every
   * batch and win the old classes' rows.
   */
  replay?: { capacity: number; ratio: number; rebalance?: boolean };
  /** match the current model's softened old-class outputs */
  distillation?: { temperature: number; weight: number };
  /** (lambda/2)·Σ F·(θ−θ*)² with a diagonal Fisher from old data; `decay` accumulates across versions */
  ewc?: { lambda: number; fisherSamples: number; decay: number };
  /**
   * Class-incremental bias correction after each update that added labels: new classes' head
   * columns are rescaled to the old columns' mean norm (weight aligning, Zhao et al. 2020).
   */
  weightAlign?: boolean;
}

/** Training knobs; every field has a default in DEFAULT_TRAIN_OPTIONS. */
export interface TrainOptions {
  /** lora: base frozen, LoRA + head train; full: embedding, dense and head train (a new base) */
  mode: TrainMode;
  lora: LoraConfig;
  strategy: StrategyConfig;
  /** Adam learning rate of a fresh start and of a continuation from the current version */
  learningRate: { fresh: number; continued: number };
  /** row-wise Adagrad rate of the embedding table (full mode) */
  embeddingLearningRate: number;
  epochs: number;
  batchSize: number;
  /** epochs without validation gain before stopping (best epoch kept) */
  patience: number;
  /** share of groups held out for validation when `validation` is not given */
  validationFraction: number;
  validation?: Example[];
  sourceWeights: Record<ExampleSource, number>;
  /** pseudo-labels below this confidence are dropped */
  pseudoLabelFloor: number;
  seed: number;
  /** network shape (trainBase only; continuation keeps the base's) */
  model: ModelConfig;
  /** trainBase: version of the new base; default: first 16 hex of the sha256 of its weights */
  baseVersion?: string;
  /** strategy defaults used when a strategy is switched on without all fields */
  strategyDefaults: Required<Pick<StrategyConfig, 'replay' | 'distillation' | 'ewc'>>;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  mode: 'lora',
  lora: { rank: 16, alpha: 32, dropout: 0.05, targets: ['dense0'] },
  strategy: {},
  learningRate: { fresh: 5e-3, continued: 2e-3 },
  embeddingLearningRate: 0.05,
  epochs: 12,
  batchSize: 128,
  patience: 2,
  validationFraction: 0.1,
  sourceWeights: { original: 1, human_correction: 2, confirmation: 1, pseudo_label: 0.5 },
  pseudoLabelFloor: 0.9,
  seed: 42,
  model: { features: { ...DEFAULT_FEATURE_CONFIG }, embeddingDim: 128, hiddenUnits: [256] },
  strategyDefaults: {
    replay: { capacity: 2000, ratio: 0.5, rebalance: true },
    distillation: { temperature: 2, weight: 1 },
    ewc: { lambda: 100, fisherSamples: 200, decay: 0.9 },
  },
};

/**
 * The continual-learning setup that measured best on `pnpm bench:learn` (flipkart, class-incremental
 * and drift): full mode (the embedding keeps learning, so words of labels the base never saw get
 * trained: a frozen base caps class-incremental accuracy at the adapter-only ceiling), a rebalanced
 * 4000-row reservoir at half of each batch, distillation of the old classes at weight 0.5, weight
 * aligning, 3 epochs. EWC is left off: at any lambda that curbed forgetting it also blocked new classes.
 * Every update is a new base (re-export the base ONNX).
 */
export const RECOMMENDED_CONTINUAL_OPTIONS: DeepPartial<TrainOptions> = {
  mode: 'full',
  epochs: 3,
  strategy: {
    replay: { capacity: 4000, ratio: 0.5, rebalance: true },
    distillation: { temperature: 2, weight: 0.5 },
    weightAlign: true,
  },
};

/** Most reservoir rows scored per validation pass of a continuation. */
const REPLAY_VALIDATION_ROWS = 1000;

/** Partial at every level. */
export type DeepPartial<T> = T extends (infer U)[] ? U[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Fills defaults at every level (strategies: only those present are on). */
export function resolveOptions(partial: DeepPartial<TrainOptions> = {}): TrainOptions {
  const d = DEFAULT_TRAIN_OPTIONS;
  const sd = { ...d.strategyDefaults, ...(partial.strategyDefaults as Partial<TrainOptions['strategyDefaults']> | undefined) };
  const strategy: StrategyConfig = {};
  const s = partial.strategy ?? {};
  if (s.replay !== undefined) strategy.replay = { ...sd.replay, ...s.replay };
  if (s.distillation !== undefined) strategy.distillation = { ...sd.distillation, ...s.distillation };
  if (s.ewc !== undefined) strategy.ewc = { ...sd.ewc, ...s.ewc };
  if (s.weightAlign !== undefined) strategy.weightAlign = s.weightAlign;
  const { validation, baseVersion, ...rest } = partial;
  const out: TrainOptions = {
    ...d,
    ...(rest as Partial<TrainOptions>),
    lora: { ...d.lora, ...partial.lora } as LoraConfig,
    strategy,
    learningRate: { ...d.learningRate, ...partial.learningRate },
    sourceWeights: { ...d.sourceWeights, ...partial.sourceWeights },
    model: {
      ...d.model,
      ...(partial.model as Partial<ModelConfig> | undefined),
      features: { ...d.model.features, ...partial.model?.features },
    } as ModelConfig,
    strategyDefaults: sd,
  };
  if (validation !== undefined) out.validation = validation as Example[];
  if (baseVersion !== undefined) out.baseVersion = baseVersion;
  return out;
}

/** Outcome of one training run. */
export interface TrainResult {
  state: TrainingState;
  /** current: continued from the given version; base: fell back to the base; scratch: trainBase */
  startedFrom: 'current' | 'base' | 'scratch';
  /** why the current version was not used (when startedFrom is 'base') */
  fallbackReason?: string;
  learningRate: number;
  bestEpoch: number;
  epochs: number;
  history: { epoch: number; loss: number; valAccuracy: number }[];
  validation: Evaluation;
  seconds: number;
  samplesPerSecond: number;
  backend: BackendName;
}

/** A row to train on with its sample weight. */
export interface WeightedExample {
  example: Example;
  weight: number;
}

/** Applies the per-source weights and the pseudo-label confidence floor. */
export function prepareExamples(examples: readonly Example[], options: DeepPartial<TrainOptions> = {}): WeightedExample[] {
  const opts = resolveOptions(options);
  const out: WeightedExample[] = [];
  for (const example of examples) {
    const source = example.source ?? 'original';
    if (source === 'pseudo_label' && (example.confidence ?? 0) < opts.pseudoLabelFloor) continue;
    const weight = opts.sourceWeights[source];
    if (weight > 0) out.push({ example, weight });
  }
  return out;
}

/** sha256 of the base weights, 16 hex characters. */
export function hashBase(base: BaseWeights): string {
  const h = createHash('sha256');
  h.update(new Uint8Array(base.embedding.buffer, base.embedding.byteOffset, base.embedding.byteLength));
  for (const d of base.dense) {
    h.update(new Uint8Array(d.kernel.buffer, d.kernel.byteOffset, d.kernel.byteLength));
    h.update(new Uint8Array(d.bias.buffer, d.bias.byteOffset, d.bias.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

/** Full training from scratch: embedding, dense layers and head. The adapter starts as zero LoRA + this head. */
export async function trainBase(examples: readonly Example[], options: DeepPartial<TrainOptions> = {}): Promise<TrainResult> {
  const backend = await initBackend();
  const opts = resolveOptions(options);
  const rng = createRng(opts.seed);
  const weighted = prepareExamples(examples, opts);
  const labels = [...new Set(weighted.map((w) => w.example.label))].sort();
  const base = initBase(opts.model, rng);
  const adapter = initAdapter(opts.model, base, opts.lora, labels.length, 'lora', rng);
  const { train, validation } = splitValidation(weighted, opts);
  const fitted = fit({
    model: opts.model,
    base,
    adapter,
    labels,
    mode: 'full',
    train,
    replay: [],
    replayRatio: 0,
    validation,
    lr: opts.learningRate.fresh,
    opts,
    rng,
  });
  const state: TrainingState = {
    model: opts.model,
    baseVersion: opts.baseVersion ?? hashBase(fitted.base),
    base: fitted.base,
    adapter: { ...fitted.adapter, mode: opts.mode },
    labels,
  };
  if (opts.mode === 'full') state.adapter.layers = {};
  finishState(state, undefined, weighted.map((w) => w.example), opts, rng);
  return { ...fitted.result, state, startedFrom: 'scratch', learningRate: opts.learningRate.fresh, backend };
}

/** Why `current` cannot be continued from `base`, or undefined when it can. */
export function checkContinuable(current: TrainingState | undefined, base: TrainingState, mode: TrainMode): string | undefined {
  if (current === undefined) return 'no current version';
  if (current.baseVersion !== base.baseVersion) return `current version is on base ${current.baseVersion}, not ${base.baseVersion}`;
  const H = headInputs(current.model);
  const C = current.labels.length;
  if (C === 0 || current.adapter.head.kernel.length !== H * C || current.adapter.head.bias.length !== C) return 'current head is incomplete';
  if (mode === 'lora' && current.adapter.mode === 'lora') {
    for (const target of current.adapter.lora.targets) {
      const layer = base.base.dense[Number(target.replace('dense', ''))];
      const lora = current.adapter.layers[target];
      const r = current.adapter.lora.rank;
      if (layer === undefined || lora === undefined || lora.a.length !== layer.inputs * r || lora.b.length !== r * layer.units) {
        return `current LoRA layer ${target} is missing or has the wrong shape`;
      }
    }
  }
  return undefined;
}

/**
 * Continues training from `from.current` with the lower learning rate, or from `from.base`
 * (fresh adapter over the base, higher rate) when current is missing or incomplete.
 * New labels grow the head; old classes keep their columns.
 */
export async function continueTraining(
  from: { base: TrainingState; current?: TrainingState | undefined },
  examples: readonly Example[],
  options: DeepPartial<TrainOptions> = {},
): Promise<TrainResult> {
  const backend = await initBackend();
  const opts = resolveOptions(options);
  const rng = createRng(opts.seed);
  const fallbackReason = checkContinuable(from.current, from.base, opts.mode);
  const continuing = fallbackReason === undefined && from.current !== undefined;
  const start: TrainingState = continuing ? (from.current as TrainingState) : from.base;
  const lr = continuing ? opts.learningRate.continued : opts.learningRate.fresh;
  const model = start.model;
  const weighted = prepareExamples(examples, opts);
  const seen = new Set(start.labels);
  const labels = [...start.labels, ...[...new Set(weighted.map((w) => w.example.label))].filter((l) => !seen.has(l)).sort()];
  const H = headInputs(model);
  let adapter: AdapterWeights;
  if (continuing && start.adapter.mode === opts.mode) {
    adapter = { ...start.adapter, head: growHead(start.adapter.head, H, start.labels.length, labels.length, rng) };
  } else {
    const fresh = initAdapter(model, start.base, continuing ? start.adapter.lora : opts.lora, labels.length, opts.mode, rng);
    const headOk = start.adapter.head.kernel.length === H * start.labels.length && start.labels.length > 0;
    adapter = { ...fresh, head: headOk ? growHead(start.adapter.head, H, start.labels.length, labels.length, rng) : fresh.head };
  }
  const replayOn = opts.strategy.replay !== undefined;
  const replay = replayOn ? (start.replay ?? []) : [];
  const { train, validation } = splitValidation(weighted, opts);
  // Old classes are validated on a sample of the reservoir: scoring all of it every epoch costs as
  // much as training on it in full mode, and early stopping needs only a forgetting signal.
  const replayCheck = replay.length > REPLAY_VALIDATION_ROWS ? shuffleInPlace([...replay], createRng(opts.seed ^ 0x2545f491)).slice(0, REPLAY_VALIDATION_ROWS) : replay;
  const validationRows = replayCheck.length > 0 ? [...validation, ...replayCheck] : validation;
  const ewc =
    opts.strategy.ewc !== undefined && continuing && start.fisher !== undefined
      ? padFisher(start.fisher, labels, H, opts.strategy.ewc.lambda)
      : undefined;
  const fitted = fit({
    model,
    base: start.base,
    adapter,
    labels,
    mode: opts.mode,
    train,
    replay,
    replayRatio: opts.strategy.replay?.ratio ?? 0,
    ...(opts.strategy.replay?.rebalance === true && replay.length > 0 ? { classPrior: seenCounts(start.replaySeen ?? {}, replay, train) } : {}),
    validation: validationRows,
    lr,
    opts,
    rng,
    ...(opts.strategy.distillation !== undefined && start.labels.length > 0
      ? { teacher: { state: start, ...opts.strategy.distillation } }
      : {}),
    ...(ewc !== undefined ? { ewc } : {}),
  });
  if (opts.strategy.weightAlign === true) alignNewClassWeights(fitted.adapter.head, H, start.labels.length);
  const state: TrainingState = {
    model,
    baseVersion: opts.mode === 'full' ? hashBase(fitted.base) : start.baseVersion,
    base: fitted.base,
    adapter: fitted.adapter,
    labels,
  };
  if (start.replay !== undefined) state.replay = start.replay;
  if (start.replaySeen !== undefined) state.replaySeen = start.replaySeen;
  finishState(state, continuing ? start.fisher : undefined, weighted.map((w) => w.example), opts, rng);
  const result: TrainResult = { ...fitted.result, state, startedFrom: continuing ? 'current' : 'base', learningRate: lr, backend };
  if (fallbackReason !== undefined) result.fallbackReason = fallbackReason;
  return result;
}

function splitValidation(weighted: WeightedExample[], opts: TrainOptions): { train: WeightedExample[]; validation: Example[] } {
  if (opts.validation !== undefined) return { train: weighted, validation: opts.validation };
  if (opts.validationFraction <= 0 || weighted.length < 20) return { train: weighted, validation: [] };
  const rows = weighted.map((w) => ({ ...w.example, w }));
  // Own seed: callers often split train/test with opts.seed, and the same seed would hold out nothing here.
  const { train, held } = splitByGroup(rows, { fraction: opts.validationFraction, seed: (opts.seed ^ 0x5f3759df) >>> 0 });
  if (held.length === 0 || train.length === 0) return { train: weighted, validation: [] };
  return { train: train.map((r) => r.w), validation: held.map((r) => r.w.example) };
}

/** Updates the replay reservoir and the Fisher after training, per the strategies switched on. */
function finishState(state: TrainingState, previousFisher: FisherState | undefined, examples: Example[], opts: TrainOptions, rng: Rng): void {
  if (opts.strategy.replay !== undefined) {
    const { buffer, seen } = updateReservoir(state.replay ?? [], state.replaySeen ?? {}, examples, opts.strategy.replay.capacity, rng);
    state.replay = buffer;
    state.replaySeen = seen;
  }
  if (opts.strategy.ewc !== undefined) {
    const sample = [...examples, ...(state.replay ?? [])];
    const fresh = estimateFisher(state, sample, opts.strategy.ewc.fisherSamples, rng);
    if (previousFisher !== undefined) {
      const old = padFisher(previousFisher, state.labels, headInputs(state.model), 1);
      for (const [name, values] of Object.entries(fresh.values)) {
        const prev = old.fisher[name];
        if (prev === undefined || prev.length !== values.length) continue;
        for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) + opts.strategy.ewc.decay * (prev[i] as number);
      }
    }
    state.fisher = fresh;
  }
}

/**
 * Class-balanced reservoir: each class keeps at most capacity / classes rows, each a uniform
 * sample of that class's rows seen so far.
 */
export function updateReservoir(
  buffer: readonly Example[],
  seen: Readonly<Record<string, number>>,
  incoming: readonly Example[],
  capacity: number,
  rng: Rng,
): { buffer: Example[]; seen: Record<string, number> } {
  const counts: Record<string, number> = { ...seen };
  const byClass = new Map<string, Example[]>();
  for (const e of buffer) {
    const list = byClass.get(e.label) ?? [];
    list.push(e);
    byClass.set(e.label, list);
  }
  const classes = new Set([...Object.keys(counts), ...byClass.keys(), ...incoming.map((e) => e.label)]);
  const cap = Math.max(1, Math.floor(capacity / Math.max(1, classes.size)));
  for (const list of byClass.values()) {
    while (list.length > cap) list.splice(rng.int(list.length), 1);
  }
  for (const e of incoming) {
    const n = (counts[e.label] ?? 0) + 1;
    counts[e.label] = n;
    const list = byClass.get(e.label) ?? [];
    byClass.set(e.label, list);
    const slim: Example = { text: e.text, label: e.label };
    if (e.group !== undefined) slim.group = e.group;
    if (e.source !== undefined) slim.source = e.source;
    if (list.length < cap) list.push(slim);
    else {
      const j = rng.int(n);
      if (j < cap) list[j] = slim;
    }
  }
  const out: Example[] = [];
  for (const label of [...byClass.keys()].sort()) out.push(...(byClass.get(label) ?? []));
  return { buffer: out, seen: counts };
}

/** Fisher/anchors padded to the current label count, with lambda. */
function padFisher(fisher: FisherState, labels: readonly string[], H: number, lambda: number): { fisher: Record<string, Float32Array>; anchors: Record<string, Float32Array>; lambda: number } {
  const oldC = fisher.labels.length;
  const C = labels.length;
  const pad = (name: string, v: Float32Array): Float32Array =>
    name === 'head.kernel' ? padColumns(v, H, oldC, C) : name === 'head.bias' ? padColumns(v, 1, oldC, C) : v;
  const f: Record<string, Float32Array> = {};
  const a: Record<string, Float32Array> = {};
  for (const [name, v] of Object.entries(fisher.values)) f[name] = pad(name, v);
  for (const [name, v] of Object.entries(fisher.anchors)) a[name] = pad(name, v);
  return { fisher: f, anchors: a, lambda };
}

/**
 * Empirical diagonal Fisher of the trainable parameters (mode of the adapter): mean over
 * `samples` rows of the squared per-row gradient of the log-likelihood of the true label,
 * scaled so that its mean over all parameters is 1.
 */
export function estimateFisher(state: TrainingState, examples: readonly Example[], samples: number, rng: Rng): FisherState {
  const labelIndex = new Map(state.labels.map((l, i) => [l, i]));
  const pool = examples.filter((e) => labelIndex.has(e.label));
  const chosen = shuffleInPlace([...pool], rng).slice(0, Math.max(1, samples));
  const net = createNetwork(state.model, state.base, state.adapter, state.labels.length, state.adapter.mode);
  const featurizer = createFeaturizer(state.model.features);
  const D = state.model.embeddingDim;
  const feats = featurizer.featurize(chosen.map((e) => e.text));
  const h0 = new Float32Array(chosen.length * D);
  embeddingBag(state.base.embedding, D, feats, undefined, h0);
  const names = [...net.trainable.keys()];
  const vars = names.map((n) => net.trainable.get(n) as tf.Variable);
  const sums = vars.map((v) => new Float32Array(v.size));
  const C = state.labels.length;
  for (let r = 0; r < chosen.length; r++) {
    const y = labelIndex.get((chosen[r] as Example).label) as number;
    tf.tidy(() => {
      const x = tf.tensor2d(h0.subarray(r * D, (r + 1) * D), [1, D]);
      const target = tf.oneHot(tf.tensor1d([y], 'int32'), C);
      const { grads } = tf.engine().gradients(() => tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(net.forward(x))))) as tf.Scalar, vars, undefined, true);
      grads.forEach((g, i) => {
        const data = g.dataSync();
        const s = sums[i] as Float32Array;
        for (let k = 0; k < s.length; k++) s[k] = (s[k] as number) + (data[k] as number) * (data[k] as number);
      });
    });
  }
  const values: Record<string, Float32Array> = {};
  const anchors: Record<string, Float32Array> = {};
  const snap = net.snapshot();
  // Normalized to mean 1 over all parameters: raw values shrink as the model grows confident,
  // which would make a fixed lambda mean different things from one version to the next.
  let total = 0;
  let count = 0;
  for (const s of sums) {
    for (let k = 0; k < s.length; k++) total += s[k] as number;
    count += s.length;
  }
  const norm = total > 0 ? count / total : 0;
  names.forEach((name, i) => {
    const s = sums[i] as Float32Array;
    for (let k = 0; k < s.length; k++) s[k] = (s[k] as number) * norm;
    values[name] = s;
    anchors[name] = snap.get(name) as Float32Array;
  });
  net.dispose();
  return { labels: [...state.labels], values, anchors };
}

/** Σ F·(θ−θ*)² · lambda/2 of the state's trainable parameters against a Fisher (diagnostics, tests). */
export function ewcPenalty(state: TrainingState, fisher: FisherState, lambda = 1): number {
  const H = headInputs(state.model);
  const padded = padFisher(fisher, state.labels, H, lambda);
  const current: Record<string, Float32Array> = {
    'head.kernel': state.adapter.head.kernel,
    'head.bias': state.adapter.head.bias,
  };
  for (const [name, l] of Object.entries(state.adapter.layers)) {
    current[`${name}.lora_a`] = l.a;
    current[`${name}.lora_b`] = l.b;
  }
  state.base.dense.forEach((d, i) => {
    current[`dense${i}.kernel`] = d.kernel;
    current[`dense${i}.bias`] = d.bias;
  });
  let sum = 0;
  for (const [name, f] of Object.entries(padded.fisher)) {
    const theta = current[name];
    const anchor = padded.anchors[name];
    if (theta === undefined || anchor === undefined || theta.length !== f.length) continue;
    for (let i = 0; i < f.length; i++) {
      const d = (theta[i] as number) - (anchor[i] as number);
      sum += (f[i] as number) * d * d;
    }
  }
  return (lambda / 2) * sum;
}

interface FitInput {
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
  lr: number;
  opts: TrainOptions;
  rng: Rng;
  teacher?: { state: TrainingState; temperature: number; weight: number };
  ewc?: { fisher: Record<string, Float32Array>; anchors: Record<string, Float32Array>; lambda: number };
}

interface FitOutput {
  base: BaseWeights;
  adapter: AdapterWeights;
  result: Omit<TrainResult, 'state' | 'startedFrom' | 'learningRate' | 'backend'>;
}

/** Mini-batch training with early stopping on validation accuracy (best epoch restored). */
function fit(input: FitInput): FitOutput {
  const started = performance.now();
  const { model, labels, mode, opts, rng } = input;
  const D = model.embeddingDim;
  const C = labels.length;
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const nTrain = input.train.length;
  const nReplay = input.replay.length;
  const validation = input.validation.filter((e) => labelIndex.has(e.label));
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
  const featurizer = createFeaturizer(model.features);
  const feats = featurizer.featurize(texts);
  // Full mode trains the embedding: work on a copy so the previous version stays intact.
  const embedding = mode === 'full' ? input.base.embedding.slice() : input.base.embedding;
  // Frozen base: the bag output of every row never changes, so compute it once.
  const cachedH0 = mode === 'lora' ? new Float32Array(texts.length * D) : undefined;
  if (cachedH0 !== undefined) embeddingBag(embedding, D, feats, undefined, cachedH0);

  const net = createNetwork(model, input.base, input.adapter, C, mode);
  const vars = [...net.trainable.values()];
  const names = [...net.trainable.keys()];
  const optimizer = tf.train.adam(input.lr);
  const teacherLogits = input.teacher !== undefined ? computeTeacher(input.teacher.state, feats, nTrain + nReplay) : undefined;
  const teacherC = input.teacher?.state.labels.length ?? 0;
  const ewcTensors =
    input.ewc !== undefined
      ? names.flatMap((name, i) => {
          const f = input.ewc?.fisher[name];
          const a = input.ewc?.anchors[name];
          const v = vars[i] as tf.Variable;
          return f !== undefined && a !== undefined && f.length === v.size ? [{ v, f: tf.tensor(f, v.shape), a: tf.tensor(a, v.shape) }] : [];
        })
      : [];
  const adagrad = mode === 'full' ? new Float32Array(model.features.buckets) : undefined;
  const scratch = mode === 'full' ? createSparseScratch(model.features.buckets, Math.max(1, opts.batchSize) * model.features.maxFeatures, D) : undefined;
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
  const validate = (): { acc: number; loss: number } => {
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
    return { acc: correct / valRows.length, loss: loss / valRows.length };
  };

  const history: TrainResult['history'] = [];
  let best = { acc: -Infinity, loss: Infinity, epoch: 0, snap: net.snapshot(), embedding: mode === 'full' ? embedding.slice() : undefined };
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
      const teacherBatch = teacherLogits !== undefined ? gatherRows(teacherLogits, rows, teacherC) : undefined;
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
            const T = input.teacher.temperature;
            const student = tf.logSoftmax(tf.div(tf.slice(logits, [0, 0], [n, teacherC]), T));
            const teacherLogP = tf.logSoftmax(tf.div(tf.tensor2d(teacherBatch, [n, teacherC]), T));
            const kl = tf.sum(tf.mul(tf.exp(teacherLogP), tf.sub(teacherLogP, student)), 1);
            loss = tf.add(loss, tf.mul(tf.div(tf.sum(tf.mul(kl, w)), wSum), input.teacher.weight * T * T));
          }
          if (ewcTensors.length > 0 && input.ewc !== undefined) {
            let penalty: tf.Tensor = tf.scalar(0);
            for (const { v, f, a } of ewcTensors) penalty = tf.add(penalty, tf.sum(tf.mul(f, tf.square(tf.sub(v, a)))));
            loss = tf.add(loss, tf.mul(penalty, input.ewc.lambda / 2));
          }
          return loss as tf.Scalar;
        };
        const xs: tf.Tensor[] = mode === 'full' ? [...vars, h0] : vars;
        const { value, grads } = tf.engine().gradients(lossFn, xs, undefined, true);
        lossSum += value.dataSync()[0] as number;
        optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })));
        return mode === 'full' ? (grads[vars.length] as tf.Tensor).dataSync() as Float32Array : undefined;
      });
      if (h0Grad !== undefined && adagrad !== undefined && scratch !== undefined) sparseAdagrad(embedding, adagrad, D, feats, rows, h0Grad, opts.embeddingLearningRate, scratch);
      steps++;
      samples += n;
    }
    const val = validate();
    history.push({ epoch, loss: lossSum / Math.max(1, steps), valAccuracy: val.acc });
    // Better = higher accuracy, or equal accuracy with lower loss (accuracy alone plateaus on small sets).
    const improved = Number.isNaN(val.acc) || val.acc > best.acc + 1e-9 || (Math.abs(val.acc - best.acc) <= 1e-9 && val.loss < best.loss);
    if (improved) {
      best = { acc: val.acc, loss: val.loss, epoch, snap: net.snapshot(), embedding: mode === 'full' ? embedding.slice() : undefined };
      sinceBest = 0;
    } else if (++sinceBest >= opts.patience) {
      break;
    }
  }
  net.restore(best.snap);
  if (best.embedding !== undefined) embedding.set(best.embedding);
  const trainSeconds = (performance.now() - started) / 1000;
  // Validation metrics of the kept epoch.
  const valLogits = logitsFor(valRows);
  const valEval = evaluate(
    valRows.map((r) => labels[y[r] as number] as string),
    valRows.map((_, k) => labels[argmaxRow(valLogits, k, C)] as string),
    { labels },
  );
  const exported = net.export({ embedding, dense: input.base.dense }, input.adapter);
  net.dispose();
  optimizer.dispose();
  tf.dispose(ewcTensors.flatMap((e) => [e.f, e.a]));
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
  };
}

/** Rows seen so far per label: the reservoir's counts (rows it saw) plus this update's rows. */
function seenCounts(replaySeen: Readonly<Record<string, number>>, replay: readonly Example[], train: readonly WeightedExample[]): Record<string, number> {
  const counts: Record<string, number> = { ...replaySeen };
  for (const e of replay) counts[e.label] = Math.max(counts[e.label] ?? 0, 1);
  for (const w of train) counts[w.example.label] = (counts[w.example.label] ?? 0) + 1;
  return counts;
}

/**
 * Multiplies each training/replay row's weight by prior(class) / mix(class), where mix is the share
 * of the class in the batches actually drawn ((1 − ratio) of new rows, ratio of reservoir rows).
 * The mean weight over the mix stays 1, so the learning rate keeps its meaning.
 */
function rebalanceWeights(prior: Readonly<Record<string, number>>, labels: readonly string[], y: Int32Array, sampleWeight: Float32Array, nTrain: number, nReplay: number, ratio: number): void {
  const C = labels.length;
  const mix = new Float64Array(C);
  const newShare = nReplay > 0 && ratio > 0 ? 1 - ratio : 1;
  for (let i = 0; i < nTrain; i++) mix[y[i] as number] = (mix[y[i] as number] as number) + newShare / Math.max(1, nTrain);
  for (let i = nTrain; i < nTrain + nReplay; i++) mix[y[i] as number] = (mix[y[i] as number] as number) + (1 - newShare) / nReplay;
  let priorTotal = 0;
  for (let c = 0; c < C; c++) if ((mix[c] as number) > 0) priorTotal += prior[labels[c] as string] ?? 0;
  if (priorTotal <= 0) return;
  const factor = new Float64Array(C);
  for (let c = 0; c < C; c++) factor[c] = (mix[c] as number) > 0 ? (prior[labels[c] as string] ?? 0) / priorTotal / (mix[c] as number) : 0;
  for (let i = 0; i < nTrain + nReplay; i++) sampleWeight[i] = (sampleWeight[i] as number) * (factor[y[i] as number] as number);
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

/** Logits of the teacher (the version being continued) for the first `n` rows. */
function computeTeacher(teacher: TrainingState, feats: FeatureBatch, n: number): Float32Array {
  const D = teacher.model.embeddingDim;
  const C = teacher.labels.length;
  const net = createNetwork(teacher.model, teacher.base, teacher.adapter, C, teacher.adapter.mode);
  const out = new Float32Array(n * C);
  const chunk = 1024;
  const buf = new Float32Array(chunk * D);
  for (let s = 0; s < n; s += chunk) {
    const rows = Array.from({ length: Math.min(chunk, n - s) }, (_, k) => s + k);
    embeddingBag(teacher.base.embedding, D, feats, rows, buf);
    const logits = tf.tidy(() => net.forward(tf.tensor2d(buf.subarray(0, rows.length * D), [rows.length, D])));
    out.set(logits.dataSync(), s * C);
    logits.dispose();
  }
  net.dispose();
  return out;
}

/** Scratch buffers of the sparse embedding update, reused across steps. */
interface SparseScratch {
  slotOf: Int32Array;
  touched: Int32Array;
  grads: Float32Array;
}

function createSparseScratch(buckets: number, maxRows: number, D: number): SparseScratch {
  return { slotOf: new Int32Array(buckets).fill(-1), touched: new Int32Array(maxRows), grads: new Float32Array(maxRows * D) };
}

/**
 * Row-wise sparse Adagrad on the embedding rows a batch touched: the gradient of a bag row is
 * weight · dL/dh0, so only those rows change (a dense tfjs update would touch every bucket).
 */
function sparseAdagrad(embedding: Float32Array, accum: Float32Array, D: number, feats: FeatureBatch, rows: readonly number[], grad: Float32Array, lr: number, scratch: SparseScratch): void {
  const L = feats.maxFeatures;
  const { slotOf, touched, grads } = scratch;
  let n = 0;
  rows.forEach((r, k) => {
    const count = feats.counts[r] as number;
    for (let j = 0; j < count; j++) {
      const bucket = feats.indices[r * L + j] as number;
      const w = feats.weights[r * L + j] as number;
      let slot = slotOf[bucket] as number;
      if (slot < 0) {
        slot = n++;
        slotOf[bucket] = slot;
        touched[slot] = bucket;
        grads.fill(0, slot * D, slot * D + D);
      }
      const o = slot * D;
      const go = k * D;
      for (let d = 0; d < D; d++) grads[o + d] = (grads[o + d] as number) + w * (grad[go + d] as number);
    }
  });
  for (let slot = 0; slot < n; slot++) {
    const bucket = touched[slot] as number;
    slotOf[bucket] = -1;
    const o = slot * D;
    let sq = 0;
    for (let d = 0; d < D; d++) sq += (grads[o + d] as number) * (grads[o + d] as number);
    const acc = (accum[bucket] as number) + sq / D;
    accum[bucket] = acc;
    const step = lr / (Math.sqrt(acc) + 1e-10);
    const e = bucket * D;
    for (let d = 0; d < D; d++) embedding[e + d] = (embedding[e + d] as number) - step * (grads[o + d] as number);
  }
}
