import type { TextEncoder } from './encoderBase.js';
import { textHash, type EmbeddingCache } from './embeddingCache.js';

export interface CachedEmbeddings {
  /** one row per text, in order */
  rows: Float32Array[];
  /** texts answered from the cache */
  hits: number;
  /** distinct texts the encoder ran on */
  embedded: number;
}

/** Embeds texts through a cache keyed by (encoder hash, text hash): only texts not cached reach the encoder. */
export function cachedEmbedder(encoder: Pick<TextEncoder, 'hash' | 'embed'>, cache: EmbeddingCache): (texts: readonly string[]) => Promise<CachedEmbeddings> {
  return async (texts) => {
    const hashes = texts.map(textHash);
    const rows = await cache.get(encoder.hash, hashes);
    const missing = new Map<string, string>();
    rows.forEach((row, i) => {
      if (row === undefined) missing.set(hashes[i]!, texts[i]!);
    });
    const hits = rows.filter((r) => r !== undefined).length;
    if (missing.size > 0) {
      const keys = [...missing.keys()];
      const embedded = await encoder.embed([...missing.values()]);
      const byHash = new Map(keys.map((h, k) => [h, embedded[k]!]));
      await cache.put(encoder.hash, keys.map((h) => ({ textHash: h, embedding: byHash.get(h)! })));
      rows.forEach((row, i) => {
        if (row === undefined) rows[i] = byHash.get(hashes[i]!);
      });
    }
    return { rows: rows as Float32Array[], hits, embedded: missing.size };
  };
}
