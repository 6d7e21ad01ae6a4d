import { createHash } from 'node:crypto';
import { initBackend, type BackendName } from './backend.js';
import { splitByGroup, type Example } from './data.js';
import type { Evaluation } from './evaluate.js';
import { fit } from './fit.js';
import { growHead, headInputs, initAdapter, initBase, type RowsOf } from './model.js';
import type { TrainMode } from './network.js';
import { prepareExamples, resolveOptions, type DeepPartial, type TrainOptions, type WeightedExample } from './options.js';
import { createRng, shuffleInPlace, type Rng } from './random.js';
import type { AdapterWeights, BaseWeights, FisherState, ModelConfig, TrainingState } from './state.js';
import { estimateFisher, padFisher } from './strategies/ewc.js';
import { floorNewClasses, seenCounts, updateReservoir } from './strategies/replay.js';
import { mergedForFullMode, updateMode } from './updateMode.js';

/** Most reservoir rows scored per validation pass of a continuation without a held-out set. */
const REPLAY_VALIDATION_ROWS = 1000;

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
  /** bias correction added to the new classes' logits (strategy.biasCorrection; 0 or absent: none) */
  newClassShift?: number;
  /** share of each batch drawn from the replay reservoir (continuations) */
  replayRatio?: number;
  /** how this run trained (continuations: chosen per update, see updateMode.ts) and why */
  mode?: TrainMode;
  modeReason?: string;
  /** the options this run trained with (a continuation's mode and delta rows as chosen) */
  usedOptions?: TrainOptions;
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

/** Base version: the weights' hash, with the encoder's content hash when h0 comes from an encoder base. */
function baseVersionOf(model: ModelConfig, base: BaseWeights): string {
  const weights = hashBase(base);
  return model.base === undefined ? weights : createHash('sha256').update(`${model.base.kind}:${model.base.hash}:${weights}`).digest('hex').slice(0, 16);
}

/**
 * Full training from scratch: embedding, dense layers and head. The adapter starts as zero LoRA + this head.
 * With `rowsOf` (an encoder base, `options.model.base` set) h0 comes from the frozen encoder and only
 * the dense layers and head train.
 */
export async function trainBase(examples: readonly Example[], options: DeepPartial<TrainOptions> = {}, rowsOf?: RowsOf): Promise<TrainResult> {
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
    ...(rowsOf !== undefined ? { rowsOf } : {}),
  });
  const state: TrainingState = {
    model: opts.model,
    baseVersion: opts.baseVersion ?? baseVersionOf(opts.model, fitted.base),
    base: fitted.base,
    adapter: { ...fitted.adapter, mode: opts.mode },
    labels,
    temperature: fitted.temperature,
  };
  if (opts.mode === 'full') state.adapter.layers = {};
  finishState(state, undefined, weighted.map((w) => w.example), opts, rng, rowsOf);
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
  rowsOf?: RowsOf,
): Promise<TrainResult> {
  const backend = await initBackend();
  const configured = resolveOptions(options);
  const rng = createRng(configured.seed);
  const weighted = prepareExamples(examples, configured);
  // The labels this update brings: those the version being continued lacks decide the mode; those
  // its start lacks (the same, unless it falls back to the base) grow the head.
  const incoming = [...new Set(weighted.map((w) => w.example.label))];
  const known = new Set((from.current ?? from.base).labels);
  const { opts, reason: modeReason } = updateMode(configured, incoming.filter((l) => !known.has(l)).sort());
  const fallbackReason = checkContinuable(from.current, from.base, opts.mode);
  const continuing = fallbackReason === undefined && from.current !== undefined;
  // A full-mode update of a LoRA version starts from what that version computes, its adapter merged in.
  const start: TrainingState = continuing ? (opts.mode === 'full' ? mergedForFullMode(from.current as TrainingState) : (from.current as TrainingState)) : from.base;
  const lr = continuing ? opts.learningRate.continued : opts.learningRate.fresh;
  const model = start.model;
  const seen = new Set(start.labels);
  const labels = [...start.labels, ...incoming.filter((l) => !seen.has(l)).sort()];
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
  const labelsAdded = labels.length > start.labels.length;
  const replayRatio = labelsAdded ? (opts.strategy.replay?.ratio ?? 0) : (opts.sameLabels?.replayRatio ?? opts.strategy.replay?.ratio ?? 0);
  const replay = replayOn ? (start.replay ?? []) : [];
  const { train, validation } = splitValidation(weighted, opts);
  // Old classes are validated on a sample of the reservoir: scoring all of it every epoch costs as
  // much as training on it in full mode, and early stopping needs only a forgetting signal.
  // Old classes are checked on a sample of the reservoir only when no held-out validation set is
  // given (the reservoir is trained on, so it is a forgetting signal, not an honest score).
  const replayCheck = opts.validation === undefined && replay.length > REPLAY_VALIDATION_ROWS ? shuffleInPlace([...replay], createRng(opts.seed ^ 0x2545f491)).slice(0, REPLAY_VALIDATION_ROWS) : opts.validation === undefined ? replay : [];
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
    replayRatio,
    ...(opts.strategy.replay?.rebalance === true && replay.length > 0
      ? { classPrior: floorNewClasses(seenCounts(start.replaySeen ?? {}, replay, train), start.labels, opts.strategy.replay.newClassMinShare ?? 0) }
      : {}),
    validation: replayCheck,
    heldOutValidation: validation,
    lr,
    opts,
    rng,
    ...(opts.strategy.distillation !== undefined && start.labels.length > 0
      ? { teacher: { state: start, ...opts.strategy.distillation } }
      : {}),
    ...(ewc !== undefined ? { ewc } : {}),
    ...(rowsOf !== undefined ? { rowsOf } : {}),
    ...(opts.strategy.biasCorrection === true && start.labels.length > 0 ? { newClassShiftFrom: start.labels.length } : {}),
    ...(opts.strategy.weightAlign === true ? { alignNewClassesFrom: start.labels.length } : {}),
  });
  const state: TrainingState = {
    model,
    baseVersion: opts.mode === 'full' ? baseVersionOf(model, fitted.base) : start.baseVersion,
    base: fitted.base,
    adapter: fitted.adapter,
    labels,
    temperature: fitted.temperature,
  };
  if (start.replay !== undefined) state.replay = start.replay;
  if (start.replaySeen !== undefined) state.replaySeen = start.replaySeen;
  finishState(state, continuing ? start.fisher : undefined, weighted.map((w) => w.example), opts, rng, rowsOf);
  const result: TrainResult = { ...fitted.result, state, startedFrom: continuing ? 'current' : 'base', learningRate: lr, backend, newClassShift: fitted.newClassShift, replayRatio, mode: opts.mode, modeReason, usedOptions: opts };
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
export function finishState(state: TrainingState, previousFisher: FisherState | undefined, examples: Example[], opts: TrainOptions, rng: Rng, rowsOf?: RowsOf): void {
  if (opts.strategy.replay !== undefined) {
    const { buffer, seen } = updateReservoir(state.replay ?? [], state.replaySeen ?? {}, examples, opts.strategy.replay.capacity, rng);
    state.replay = buffer;
    state.replaySeen = seen;
  }
  if (opts.strategy.ewc !== undefined) {
    const sample = [...examples, ...(state.replay ?? [])];
    const fresh = estimateFisher(state, sample, opts.strategy.ewc.fisherSamples, rng, rowsOf);
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

