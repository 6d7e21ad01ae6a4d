import type { Example } from '../data.js';
import { LearningError } from '../errors.js';
import type { RowsOf } from '../model.js';
import { ENCODER_CONTINUED_LEARNING_RATE, encoderUpdateOptions, type DeepPartial, type TrainOptions } from '../options.js';
import type { TrainingState } from '../state.js';
import { continueTraining, trainBase, type TrainResult } from '../train.js';
import { cachedEmbedder } from './cachedEmbedder.js';
import { MemoryEmbeddingCache, type EmbeddingCache } from './embeddingCache.js';
import type { TextEncoder } from './encoderBase.js';

/** A frozen encoder base and where its embeddings are cached (default: a fresh in-memory cache). */
export interface EncoderSource {
  encoder: Pick<TextEncoder, 'hash' | 'dim' | 'embed'>;
  cache?: EmbeddingCache;
}

/** What a training run on an encoder base asked of the encoder. */
export interface EmbeddingUse {
  /** distinct texts the run needed */
  texts: number;
  /** answered from the cache */
  hits: number;
  /** run through the encoder */
  embedded: number;
}

export type EncoderTrainResult = TrainResult & { embeddings: EmbeddingUse };

/**
 * Embeds every text once, through the cache, and returns h0 lookups for them. Training then runs
 * synchronously on these rows; a text it was not given is a bug, not a cache miss.
 */
export async function encoderRows(source: EncoderSource, texts: Iterable<string>): Promise<{ rowsOf: RowsOf; use: EmbeddingUse }> {
  const distinct = [...new Set(texts)];
  const { rows, hits, embedded } = await cachedEmbedder(source.encoder, source.cache ?? new MemoryEmbeddingCache(distinct.length + 1))(distinct);
  const byText = new Map(distinct.map((t, i) => [t, rows[i]!]));
  const D = source.encoder.dim;
  const rowsOf: RowsOf = (wanted) => {
    const out = new Float32Array(wanted.length * D);
    wanted.forEach((t, i) => {
      const row = byText.get(t);
      if (row === undefined) throw new RangeError(`no embedding for a text the run did not announce: ${t.slice(0, 40)}`);
      out.set(row, i * D);
    });
    return out;
  };
  return { rowsOf, use: { texts: distinct.length, hits, embedded } };
}

const texts = (examples: readonly Example[] | undefined): string[] => (examples ?? []).map((e) => e.text);

/** Model options for an encoder base: h0 is the encoder's embedding, dense layers (the projection) and head on top. */
function encoderModel(source: EncoderSource, options: DeepPartial<TrainOptions>): DeepPartial<TrainOptions> {
  return { ...options, model: { ...options.model, embeddingDim: source.encoder.dim, base: { kind: 'encoder', hash: source.encoder.hash } } };
}

/**
 * The first version on an encoder base: the encoder stays frozen, the projection (dense layers) and
 * the head train on its cached embeddings. Later versions continue with LoRA on the projection.
 */
export async function trainEncoderBase(examples: readonly Example[], source: EncoderSource, options: DeepPartial<TrainOptions> = {}): Promise<EncoderTrainResult> {
  const { rowsOf, use } = await encoderRows(source, [...texts(examples), ...texts(options.validation as Example[] | undefined)]);
  return { ...(await trainBase(examples, encoderModel(source, options), rowsOf)), embeddings: use };
}

// The encoder-base continuation rate lives with the other option defaults (options.ts), so the
// trainer can log the rate an update really uses without loading the training code.
export { ENCODER_CONTINUED_LEARNING_RATE, encoderUpdateOptions };

/** continueTraining on an encoder base: LoRA on the projection + head, replay, distillation and EWC as for n-gram bases. */
export async function continueEncoderTraining(
  from: { base: TrainingState; current?: TrainingState | undefined },
  examples: readonly Example[],
  source: EncoderSource,
  options: DeepPartial<TrainOptions> = {},
): Promise<EncoderTrainResult> {
  const baseOf = from.base.model.base;
  if (baseOf?.kind !== 'encoder' || baseOf.hash !== source.encoder.hash) {
    throw new LearningError('base_mismatch', `this version is on ${baseOf ? `encoder ${baseOf.hash.slice(0, 12)}` : 'an n-gram base'}, not encoder ${source.encoder.hash.slice(0, 12)}; train with the encoder base it was built on`);
  }
  const needed = [...texts(examples), ...texts(options.validation as Example[] | undefined), ...texts(from.base.replay), ...texts(from.current?.replay)];
  const { rowsOf, use } = await encoderRows(source, needed);
  return { ...(await continueTraining(from, examples, encoderUpdateOptions(options), rowsOf)), embeddings: use };
}
