import { createHash } from 'node:crypto';
import { createFeaturizer, type FeatureConfig } from '../features.js';

/** What a hybrid needs of an encoder (TextEncoder's hash, dim and embed; declared here so encoderBase can wrap itself). */
export interface FeatureEncoder {
  readonly hash: string;
  readonly dim: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export interface HybridOptions {
  /** hashed n-gram features: buckets is the width of the n-gram half (default 1024; the rest as the n-gram base's defaults) */
  features?: Partial<FeatureConfig>;
}

const unit = (v: Float32Array, from: number, to: number): void => {
  let s = 0;
  for (let i = from; i < to; i++) s += v[i]! * v[i]!;
  if (s === 0) return;
  const k = 1 / Math.sqrt(s);
  for (let i = from; i < to; i++) v[i]! *= k;
};

/**
 * A `hybrid` base: the frozen encoder's embedding and the text's hashed n-gram bag side by side, each
 * scaled to unit length so neither half drowns the other. Words the encoder never saw (new product
 * names) still land in n-gram buckets the layers on top can learn. Content-hashed like an encoder, so
 * its rows are cached by (hybrid hash, text hash).
 */
export function hybridEncoder(encoder: FeatureEncoder, options: HybridOptions = {}): FeatureEncoder {
  const featurizer = createFeaturizer({ buckets: 1024, ...options.features });
  const B = featurizer.config.buckets;
  const D = encoder.dim;
  const hash = createHash('sha256').update(`hybrid\n${encoder.hash}\n${JSON.stringify(featurizer.config)}`).digest('hex');
  return {
    hash,
    dim: D + B,
    async embed(texts) {
      const dense = await encoder.embed(texts);
      const bags = featurizer.featurize(texts);
      const L = bags.maxFeatures;
      return dense.map((row, r) => {
        const out = new Float32Array(D + B);
        out.set(row);
        unit(out, 0, D);
        for (let s = 0; s < bags.counts[r]!; s++) out[D + bags.indices[r * L + s]!]! += bags.weights[r * L + s]!;
        unit(out, D, D + B);
        return out;
      });
    },
  };
}
