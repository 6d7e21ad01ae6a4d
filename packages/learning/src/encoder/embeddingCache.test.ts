import { appendFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedEmbedder } from './cachedEmbedder.js';
import { FileEmbeddingCache, MemoryEmbeddingCache, textHash } from './embeddingCache.js';

const root = await mkdtemp(join(tmpdir(), 'flywheel-embcache-'));
afterAll(() => rm(root, { recursive: true, force: true }));

const BASE = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);
const row = (seed: number): Float32Array => Float32Array.from({ length: 8 }, (_, i) => seed + i / 10);

/** An encoder that embeds a text as its length and counts what it was asked. */
const countingEncoder = (hash: string) => {
  const seen: string[] = [];
  return {
    hash,
    seen,
    embed: async (texts: readonly string[]) => {
      seen.push(...texts);
      return texts.map((t) => row(t.length));
    },
  };
};

describe('MemoryEmbeddingCache', () => {
  it('keys rows by base and text, and evicts the least recently used', async () => {
    const cache = new MemoryEmbeddingCache(2);
    await cache.put(BASE, [{ textHash: textHash('a'), embedding: row(1) }, { textHash: textHash('b'), embedding: row(2) }]);
    expect(await cache.get(OTHER, [textHash('a')])).toEqual([undefined]);
    expect(await cache.get(BASE, [textHash('a')])).toEqual([row(1)]); // a is now the most recent
    await cache.put(BASE, [{ textHash: textHash('c'), embedding: row(3) }]);
    expect(await cache.get(BASE, [textHash('a'), textHash('b'), textHash('c')])).toEqual([row(1), undefined, row(3)]);
    expect(cache.size).toBe(2);
  });
});

describe('FileEmbeddingCache', () => {
  it('keeps rows across reopening, per base', async () => {
    const dir = join(root, 'persist');
    const first = new FileEmbeddingCache(dir);
    await first.put(BASE, [{ textHash: textHash('a'), embedding: row(1) }]);
    await first.put(BASE, [{ textHash: textHash('b'), embedding: row(2) }, { textHash: textHash('a'), embedding: row(9) }]);
    await first.put(OTHER, [{ textHash: textHash('a'), embedding: row(5) }]);
    await first.close();
    const again = new FileEmbeddingCache(dir);
    expect(await again.get(BASE, [textHash('a'), textHash('b'), textHash('z')])).toEqual([row(1), row(2), undefined]);
    expect(await again.get(OTHER, [textHash('a')])).toEqual([row(5)]);
    await expect(again.put(BASE, [{ textHash: textHash('q'), embedding: new Float32Array(3) }])).rejects.toThrow(/3 dimensions/);
    await again.close();
  });

  it('ignores a record torn at the end of the file and appends after the last whole one', async () => {
    const dir = join(root, 'torn');
    const cache = new FileEmbeddingCache(dir);
    await cache.put(BASE, [{ textHash: textHash('a'), embedding: row(1) }]);
    await cache.close();
    const file = join(dir, `${BASE}.emb`);
    const whole = (await stat(file)).size;
    await appendFile(file, Buffer.alloc(17, 7));
    const reopened = new FileEmbeddingCache(dir);
    expect(await reopened.get(BASE, [textHash('a')])).toEqual([row(1)]);
    await reopened.put(BASE, [{ textHash: textHash('b'), embedding: row(2) }]);
    await reopened.close();
    expect((await stat(file)).size).toBe(whole + 32 + 8 * 4);
    const last = new FileEmbeddingCache(dir);
    expect(await last.get(BASE, [textHash('a'), textHash('b')])).toEqual([row(1), row(2)]);
    await last.close();
  });
});

describe('FileEmbeddingCache with maxBytes', () => {
  const RECORD = 32 + 8 * 4; // text hash + 8 float32
  const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => ({ textHash: textHash(`t${from + k}`), embedding: row(from + k) }));
  const hashes = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => textHash(`t${from + k}`));

  it('drops the least recently used rows of its base, stays under the limit, and keeps what it kept across reopening', async () => {
    const dir = join(root, 'bounded');
    const max = 4 + 10 * RECORD;
    const cache = new FileEmbeddingCache(dir, { maxBytes: max });
    await cache.put(BASE, rows(0, 8));
    expect(await cache.get(BASE, hashes(0, 2))).toEqual([row(0), row(1)]); // t0 and t1 are now the most recent
    await cache.put(BASE, rows(8, 12)); // 12 rows do not fit in 10: compacted to half the limit, then appended
    const file = join(dir, `${BASE}.emb`);
    expect((await stat(file)).size).toBeLessThanOrEqual(max);
    expect(await cache.get(BASE, hashes(0, 2))).toEqual([row(0), row(1)]);
    expect(await cache.get(BASE, hashes(2, 8))).toEqual(Array(6).fill(undefined));
    expect(await cache.get(BASE, hashes(8, 12))).toEqual([row(8), row(9), row(10), row(11)]);
    expect(cache.evicted).toBe(6);
    await cache.close();
    const again = new FileEmbeddingCache(dir, { maxBytes: max });
    expect(await again.get(BASE, [...hashes(0, 2), ...hashes(8, 12)])).toEqual([row(0), row(1), row(8), row(9), row(10), row(11)]);
    await again.close();
  });

  it('removes other bases\' files (oldest first) before dropping rows of the base in use', async () => {
    const dir = join(root, 'bounded-others');
    const old = new FileEmbeddingCache(dir);
    await old.put(OTHER, rows(0, 6));
    await old.close();
    const cache = new FileEmbeddingCache(dir, { maxBytes: 4 + 10 * RECORD });
    await cache.put(BASE, rows(0, 6)); // 12 rows in the folder: the other base's file goes
    await expect(stat(join(dir, `${OTHER}.emb`))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await cache.get(BASE, hashes(0, 6))).toEqual([0, 1, 2, 3, 4, 5].map(row));
    expect(cache.evicted).toBe(0);
    await cache.close();
  });
});

describe('cachedEmbedder', () => {
  it('embeds only texts not cached for this base, each distinct text once', async () => {
    const cache = new MemoryEmbeddingCache();
    const encoder = countingEncoder(BASE);
    const embed = cachedEmbedder(encoder, cache);
    const first = await embed(['one', 'three', 'one']);
    expect(first).toEqual({ rows: [row(3), row(5), row(3)], hits: 0, embedded: 2 });
    const retrain = await embed(['three', 'one', 'seven', 'eleven']);
    expect(retrain.rows).toEqual([row(5), row(3), row(5), row(6)]);
    expect({ hits: retrain.hits, embedded: retrain.embedded }).toEqual({ hits: 2, embedded: 2 });
    expect(encoder.seen).toEqual(['one', 'three', 'seven', 'eleven']);
    // another base shares nothing
    const other = countingEncoder(OTHER);
    expect((await cachedEmbedder(other, cache)(['one'])).embedded).toBe(1);
  });
});
