// The featurizer an exported folder ships as featurize.mjs. `createTextFeaturizer` is written to be
// self-contained (no imports, no module-level names) so its compiled source IS the shipped module's
// core: featurizeModule.ts emits `createTextFeaturizer.toString()`. Its output must equal
// features.ts createFeaturizer's slot for slot; textFeaturizer.test.ts checks that on 1,000+ shipped texts.

/** featurizer.json: the FeatureConfig of the base (what features.ts needs) under a format tag. */
export interface FeaturizerSpec {
  format: 'flywheel-featurizer/v1';
  /** hash buckets = rows of the embedding; every index is in [0, buckets) */
  buckets: number;
  /** at most this many distinct features per text (first come first kept) */
  maxFeatures: number;
  /** 1 = word unigrams, 2 = unigrams + bigrams */
  wordNgrams: number;
  /** character n-grams of "<word>", lengths charNgramMin..charNgramMax (0 disables) */
  charNgramMin: number;
  charNgramMax: number;
  /** mixed into the FNV-1a basis */
  seed: number;
  /** for readers reimplementing it elsewhere (featurize.mjs does not read these): the fixed text rules */
  about?: { normalize: string; tokens: string; features: string; hash: string; weights: string };
}

/** The rules createTextFeaturizer (and features.ts) hard-code, spelled out in featurizer.json. */
export const FEATURIZER_RULES: NonNullable<FeaturizerSpec['about']> = {
  normalize: "String.prototype.normalize('NFKD'), remove \\p{M}, toLowerCase()",
  tokens: 'runs of [\\p{L}\\p{N}]+',
  features: "words; word bigrams when wordNgrams >= 2; character n-grams of '<' + word + '>' for n in charNgramMin..charNgramMax; at most maxFeatures distinct ids, first come first kept",
  hash: "32-bit FNV-1a over UTF-16 code units (low byte, then high byte when non-zero); basis = fnv1a(kind, 0x811c9dc5 ^ seed) with kind 'w', 'b' (hashes a, ' ', b in turn) or 'c'; id = hash % buckets",
  weights: 'occurrences of the id / occurrences of all kept ids; padding has id 0 and weight 0',
};

/** ONNX inputs of a batch: `indices` int32 and `weights` float32, both [rows, width] row-major. */
export interface TextFeatures {
  rows: number;
  width: number;
  indices: Int32Array;
  weights: Float32Array;
  /** used slots per row (the rest is zero padding) */
  counts: Int32Array;
}

/** `longest` (default) pads to the longest row of the batch, as serving does; `full` to spec.maxFeatures. */
export interface FeaturizeOptions {
  pad?: 'longest' | 'full';
}

/**
 * Hashed n-gram bag of each text: NFKD, combining marks removed, lower-cased, tokens = runs of
 * letters/digits; features = word unigrams (+ bigrams) and char n-grams of "<word>", FNV-1a hashed
 * into `buckets`; weight = count / total count of the kept features.
 */
export function createTextFeaturizer(spec: FeaturizerSpec): (texts: readonly string[], options?: FeaturizeOptions) => TextFeatures {
  if (!(spec.buckets > 1 && spec.maxFeatures > 0)) throw new RangeError('featurizer spec: buckets must be > 1 and maxFeatures > 0');
  // FNV-1a over UTF-16 code units, low byte then (when set) high byte.
  const fnv1a = (s: string, start: number, end: number, basis: number): number => {
    let h = basis >>> 0;
    for (let i = start; i < end; i++) {
      const c = s.charCodeAt(i);
      h ^= c & 0xff;
      h = Math.imul(h, 0x01000193);
      if (c > 0xff) {
        h ^= c >>> 8;
        h = Math.imul(h, 0x01000193);
      }
    }
    return h >>> 0;
  };
  const tokenize = (text: string): string[] => text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const offsetBasis = 0x811c9dc5 ^ spec.seed;
  const wordBasis = fnv1a('w', 0, 1, offsetBasis);
  const bigramBasis = fnv1a('b', 0, 1, offsetBasis);
  const charBasis = fnv1a('c', 0, 1, offsetBasis);

  const bagOf = (text: string): { ids: number[]; counts: number[]; total: number } => {
    const slotOf = new Map<number, number>();
    const ids: number[] = [];
    const counts: number[] = [];
    let total = 0;
    const add = (hash: number): void => {
      const bucket = hash % spec.buckets;
      const slot = slotOf.get(bucket);
      if (slot !== undefined) {
        counts[slot] = (counts[slot] as number) + 1;
        total++;
      } else if (ids.length < spec.maxFeatures) {
        slotOf.set(bucket, ids.length);
        ids.push(bucket);
        counts.push(1);
        total++;
      }
    };
    const words = tokenize(text);
    for (const w of words) add(fnv1a(w, 0, w.length, wordBasis));
    if (spec.wordNgrams >= 2) {
      for (let i = 0; i + 1 < words.length; i++) {
        const a = words[i] as string;
        const b = words[i + 1] as string;
        add(fnv1a(b, 0, b.length, fnv1a(' ', 0, 1, fnv1a(a, 0, a.length, bigramBasis))));
      }
    }
    if (spec.charNgramMin > 0) {
      for (const w of words) {
        const padded = `<${w}>`;
        for (let n = spec.charNgramMin; n <= spec.charNgramMax; n++) {
          for (let s = 0; s + n <= padded.length; s++) add(fnv1a(padded, s, s + n, charBasis));
        }
      }
    }
    return { ids, counts, total };
  };

  return (texts, options = {}) => {
    const bags = texts.map(bagOf);
    let width = options.pad === 'full' ? spec.maxFeatures : 1;
    if (options.pad !== 'full') for (const bag of bags) width = Math.max(width, bag.ids.length);
    const n = bags.length;
    const indices = new Int32Array(n * width);
    const weights = new Float32Array(n * width);
    const counts = new Int32Array(n);
    bags.forEach((bag, r) => {
      counts[r] = bag.ids.length;
      bag.ids.forEach((id, j) => {
        indices[r * width + j] = id;
        weights[r * width + j] = (bag.counts[j] as number) / bag.total;
      });
    });
    return { rows: n, width, indices, weights, counts };
  };
}
