import { createFeaturizer, tokenize, type FeatureConfig, type Featurizer } from '@flywheel/learning';
import { fnv1a32 } from '@flywheel/stats';

/** Word tokens exactly as the learning featurizer sees them: the OOV statistic must match it token for token. */
export { tokenize };

/** Hash bucket of a token in a fixed, small feature space (comparable across windows). */
export const tokenBucket = (token: string, buckets: number): number => fnv1a32(token) % buckets;

/** Share of tokens not in `vocabulary`, 0..1 (0 for a text without tokens). */
export const oovRate = (tokens: readonly string[], vocabulary: ReadonlySet<string>): number => {
  if (tokens.length === 0) return 0;
  let unseen = 0;
  for (const t of tokens) if (!vocabulary.has(t)) unseen++;
  return unseen / tokens.length;
};

/**
 * How texts become hashed vectors for the MMD statistic: the learning package's featurizer (the
 * model's own hashing), word unigrams and bigrams only — new words and new word pairs, not shared
 * character n-grams, are what a new topic brings — folded into 2¹⁴ dimensions.
 */
export const TEXT_EMBEDDING: Partial<FeatureConfig> = { buckets: 1 << 14, maxFeatures: 64, wordNgrams: 2, charNgramMin: 0, charNgramMax: 0 };
export const TEXT_EMBEDDING_DIMS = 1 << 14;

/** The featurizer of {@link TEXT_EMBEDDING}: pure, synchronous, with its own scratch space. */
export const createTextEmbedder = (): Featurizer => createFeaturizer(TEXT_EMBEDDING);
