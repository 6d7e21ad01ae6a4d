import { ENCODER_TRAINER_DEFAULT_OPTIONS, TRAINER_DEFAULT_OPTIONS, type DeepPartial, type TrainOptions } from '@flywheel/learning';
import { z } from 'zod';

/**
 * Per-model training overrides (TRAINER_MODEL_OPTIONS, JSON: `{"<model>": {...}}`). Fields left
 * out keep the trainer default for the model's base kind (TRAINER_DEFAULT_OPTIONS for an n-gram
 * model, ENCODER_TRAINER_DEFAULT_OPTIONS on an encoder base); `strategy`, when given, replaces the
 * default strategy as a whole (so a strategy can be switched off), and each strategy it names keeps
 * the trainer default's fields it leaves out (see strategyOverride).
 */
export const ModelTrainOverrides = z
  .object({
    mode: z.enum(['lora', 'full']),
    /** LoRA rank of a fresh adapter (bootstrap, or a fallback to the base); a continuation keeps the champion's */
    rank: z.number().int().min(1).max(256),
    epochs: z.number().int().min(1).max(200),
    /** optimiser steps an epoch takes at least (small updates pass over their rows again) */
    minStepsPerEpoch: z.number().int().min(1).max(10_000),
    /** Adam rate of a continuation from the champion */
    learningRate: z.number().positive().max(1),
    /** row-wise Adagrad rate of the n-gram embedding table (full mode, and lora mode with embedding rows) */
    embeddingLearningRate: z.number().positive().max(10),
    /** lora mode: embedding rows the adapter may change (0 = frozen embedding) */
    embeddingDeltaRows: z.number().int().min(0),
    /**
     * How an update that adds no label trains: "lora" = an adapter on the champion's base (serving
     * hot-swaps it on the base it holds), with up to embeddingDeltaRows rows of the embedding table;
     * "full" = a new base, as updates that add labels train; replayRatio = its replay share.
     */
    sameLabels: z.object({ mode: z.enum(['lora', 'full']), embeddingDeltaRows: z.number().int().min(0), replayRatio: z.number().min(0).max(0.95) }).partial().strict(),
    strategy: z
      .object({
        replay: z.object({ capacity: z.number().int().min(1), ratio: z.number().min(0).max(0.95), rebalance: z.boolean(), newClassMinShare: z.number().min(0).max(10) }).partial().strict(),
        distillation: z.object({ temperature: z.number().positive(), weight: z.number().min(0) }).partial(),
        ewc: z.object({ lambda: z.number().min(0), fisherSamples: z.number().int().min(1), decay: z.number().min(0).max(1) }).partial(),
        weightAlign: z.boolean(),
        /** shift the new classes' logits by what held-out rows say (see learning's strategies/biasCorrection.ts) */
        biasCorrection: z.boolean(),
      })
      .partial()
      .strict(),
  })
  .partial()
  .strict();
export type ModelTrainOverrides = z.infer<typeof ModelTrainOverrides>;

export const ModelTrainOverridesByModel = z.record(z.string().min(1), ModelTrainOverrides);
export type ModelTrainOverridesByModel = z.infer<typeof ModelTrainOverridesByModel>;

/** Parses the JSON text of TRAINER_MODEL_OPTIONS (empty = no overrides). */
export const parseModelOptionsJson = z
  .string()
  .default('{}')
  .transform((text, ctx) => {
    try {
      return JSON.parse(text.trim() === '' ? '{}' : text) as unknown;
    } catch (err) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `TRAINER_MODEL_OPTIONS is not JSON (${err instanceof Error ? err.message : String(err)}); set it to e.g. {"my-model": {"mode": "lora", "epochs": 5}}` });
      return z.NEVER;
    }
  })
  .pipe(ModelTrainOverridesByModel);

/** The overrides as learning options. */
export function overridesToOptions(o: ModelTrainOverrides, defaults: DeepPartial<TrainOptions> = TRAINER_DEFAULT_OPTIONS): DeepPartial<TrainOptions> {
  const out: DeepPartial<TrainOptions> = {};
  if (o.mode !== undefined) out.mode = o.mode;
  if (o.rank !== undefined) out.lora = { rank: o.rank, alpha: 2 * o.rank };
  if (o.epochs !== undefined) out.epochs = o.epochs;
  if (o.minStepsPerEpoch !== undefined) out.minStepsPerEpoch = o.minStepsPerEpoch;
  if (o.learningRate !== undefined) out.learningRate = { continued: o.learningRate };
  if (o.embeddingLearningRate !== undefined) out.embeddingLearningRate = o.embeddingLearningRate;
  if (o.embeddingDeltaRows !== undefined) out.embeddingDelta = { maxRows: o.embeddingDeltaRows };
  if (o.strategy !== undefined) out.strategy = strategyOverride(o.strategy, defaults);
  if (o.sameLabels !== undefined) {
    const mode = o.sameLabels.mode ?? defaults.sameLabels?.mode ?? 'lora';
    const rows = o.sameLabels.embeddingDeltaRows ?? defaults.sameLabels?.embeddingDelta?.maxRows;
    const replayRatio = o.sameLabels.replayRatio ?? defaults.sameLabels?.replayRatio;
    out.sameLabels = { mode, ...(mode === 'lora' && rows !== undefined ? { embeddingDelta: { maxRows: rows } } : {}), ...(replayRatio !== undefined ? { replayRatio } : {}) };
  }
  return out;
}

/** `defaults` with the fields `set` gives (zod's partial leaves absent fields as undefined keys). */
const over = <T extends object>(defaults: T | undefined, set: Partial<Record<keyof T, unknown>>): T =>
  ({ ...defaults, ...Object.fromEntries(Object.entries(set).filter(([, v]) => v !== undefined)) }) as T;

/**
 * A strategy override: the strategies it names are on, the others off. A named strategy's missing
 * fields come from the trainer default's same strategy, not from the library's: `{"replay":
 * {"capacity": 8000}}` keeps the default's new-class share (0.5; the library's is 0, which would
 * silently turn the few-shot floor off) and `{"distillation": {"temperature": 3}}` the default's weight.
 */
function strategyOverride(s: NonNullable<ModelTrainOverrides['strategy']>, defaults: DeepPartial<TrainOptions>): DeepPartial<TrainOptions['strategy']> {
  const d = defaults.strategy ?? {};
  const out: DeepPartial<TrainOptions['strategy']> = {};
  if (s.replay !== undefined) out.replay = over(d.replay, s.replay);
  if (s.distillation !== undefined) out.distillation = over(d.distillation, s.distillation);
  if (s.ewc !== undefined) out.ewc = over(d.ewc, s.ewc);
  if (s.weightAlign !== undefined) out.weightAlign = s.weightAlign;
  if (s.biasCorrection !== undefined) out.biasCorrection = s.biasCorrection;
  return out;
}

/** The trainer default for a model's base kind. */
export const defaultOptionsFor = (base: 'ngram' | 'encoder'): DeepPartial<TrainOptions> => (base === 'encoder' ? ENCODER_TRAINER_DEFAULT_OPTIONS : TRAINER_DEFAULT_OPTIONS);

/**
 * The options one model trains with: the trainer default for its base kind, then `global` (every
 * model), then the model's own overrides; each level replaces the fields it sets (shallow per field).
 */
export function optionsForModel(model: string, global: DeepPartial<TrainOptions>, perModel: ModelTrainOverridesByModel, base: 'ngram' | 'encoder' = 'ngram'): DeepPartial<TrainOptions> {
  const own = perModel[model];
  const defaults = defaultOptionsFor(base);
  return { ...defaults, ...global, ...(own !== undefined ? overridesToOptions(own, defaults) : {}) };
}
