import { fnv1a } from './random.js';

/** How a text becomes hashed features; stored with every base so serving featurizes identically. */
export interface FeatureConfig {
  /** number of hash buckets (embedding rows) */
  buckets: number;
  /** padded length per text; extra distinct features beyond it are dropped (first come first kept) */
  maxFeatures: number;
  /** 1 = word unigrams, 2 = unigrams + bigrams */
  wordNgrams: number;
  /** character n-grams of "<word>", lengths charNgramMin..charNgramMax (0 disables) */
  charNgramMin: number;
  charNgramMax: number;
  /** mixed into the hash basis so two configs can hash differently */
  seed: number;
}

export const DEFAULT_FEATURE_CONFIG: FeatureConfig = Object.freeze({
  buckets: 1 << 16,
  maxFeatures: 128,
  wordNgrams: 2,
  charNgramMin: 3,
  charNgramMax: 5,
  seed: 0,
});

/** Hashed features of a batch: row r occupies [r*maxFeatures, (r+1)*maxFeatures). */
export interface FeatureBatch {
  rows: number;
  maxFeatures: number;
  /** bucket per slot; padding slots hold 0 */
  indices: Int32Array;
  /** count / total per slot (sums to 1 per non-empty row); padding slots hold 0 */
  weights: Float32Array;
  /** used slots per row (the rest is padding) */
  counts: Int32Array;
}

/** Turns texts into fixed-length hashed bags. Deterministic; shared by training and serving. */
export interface Featurizer {
  readonly config: FeatureConfig;
  /** Reuses `out` when it is large enough (no allocation on the serving hot path). */
  featurize(texts: readonly string[], out?: FeatureBatch): FeatureBatch;
}

const MARK_REGEX = /\p{M}/gu;
const TOKEN_REGEX = /[\p{L}\p{N}]+/gu;

/** NFKD, combining marks removed (accent folding), lower-cased. */
export function normalizeText(text: string): string {
  return text.normalize('NFKD').replace(MARK_REGEX, '').toLowerCase();
}

export function tokenize(text: string): string[] {
  return normalizeText(text).match(TOKEN_REGEX) ?? [];
}

export function createFeaturizer(config: Partial<FeatureConfig> = {}): Featurizer {
  const cfg: FeatureConfig = { ...DEFAULT_FEATURE_CONFIG, ...config };
  if (!(cfg.buckets > 1 && cfg.maxFeatures > 0)) throw new RangeError('buckets must be > 1 and maxFeatures > 0');
  const L = cfg.maxFeatures;
  // Open-addressing table with generation stamps: no clearing between texts.
  let size = 16;
  while (size < L * 4) size <<= 1;
  const mask = size - 1;
  const keys = new Int32Array(size);
  const stamps = new Uint32Array(size);
  const slotOf = new Int32Array(size);
  let generation = 0;
  const wordBasis = fnv1a('w', 0, 1, 0x811c9dc5 ^ cfg.seed);
  const bigramBasis = fnv1a('b', 0, 1, 0x811c9dc5 ^ cfg.seed);
  const charBasis = fnv1a('c', 0, 1, 0x811c9dc5 ^ cfg.seed);

  const featurizeOne = (text: string, indices: Int32Array, weights: Float32Array, offset: number): number => {
    generation = (generation + 1) >>> 0;
    if (generation === 0) {
      stamps.fill(0);
      generation = 1;
    }
    let used = 0;
    let total = 0;
    const add = (hash: number): void => {
      const bucket = hash % cfg.buckets;
      let h = Math.imul(bucket, 0x9e3779b1) >>> 0 & mask;
      for (;;) {
        if (stamps[h] !== generation) {
          if (used >= L) return; // full: ignore new distinct features
          stamps[h] = generation;
          keys[h] = bucket;
          slotOf[h] = used;
          indices[offset + used] = bucket;
          weights[offset + used] = 1;
          used++;
          total++;
          return;
        }
        if (keys[h] === bucket) {
          const slot = offset + (slotOf[h] as number);
          weights[slot] = (weights[slot] as number) + 1;
          total++;
          return;
        }
        h = (h + 1) & mask;
      }
    };
    const words = tokenize(text);
    for (const w of words) add(fnv1a(w, 0, w.length, wordBasis));
    if (cfg.wordNgrams >= 2) {
      for (let i = 0; i + 1 < words.length; i++) {
        const a = words[i] as string;
        const b = words[i + 1] as string;
        add(fnv1a(b, 0, b.length, fnv1a(' ', 0, 1, fnv1a(a, 0, a.length, bigramBasis))));
      }
    }
    if (cfg.charNgramMin > 0) {
      for (const w of words) {
        const padded = `<${w}>`;
        for (let n = cfg.charNgramMin; n <= cfg.charNgramMax; n++) {
          for (let s = 0; s + n <= padded.length; s++) {
            add(fnv1a(padded, s, s + n, charBasis));
          }
        }
      }
    }
    for (let i = 0; i < used; i++) weights[offset + i] = (weights[offset + i] as number) / total;
    indices.fill(0, offset + used, offset + L);
    weights.fill(0, offset + used, offset + L);
    return used;
  };

  return {
    config: Object.freeze(cfg),
    featurize(texts, out) {
      const n = texts.length;
      const batch: FeatureBatch =
        out !== undefined && out.maxFeatures === L && out.indices.length >= n * L
          ? out
          : { rows: n, maxFeatures: L, indices: new Int32Array(n * L), weights: new Float32Array(n * L), counts: new Int32Array(n) };
      batch.rows = n;
      for (let r = 0; r < n; r++) batch.counts[r] = featurizeOne(texts[r] as string, batch.indices, batch.weights, r * L);
      return batch;
    },
  };
}
