import { createHash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LRUCache } from 'lru-cache';

/** Key of a text in an embedding cache: sha256 of its exact characters. */
export const textHash = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Embeddings by (base hash, text hash): a retrain on the same base embeds only the rows it has not
 * seen. Rows are returned as stored; callers must not mutate them.
 */
export interface EmbeddingCache {
  /** one entry per text hash, undefined where not cached */
  get(baseHash: string, textHashes: readonly string[]): Promise<(Float32Array | undefined)[]>;
  put(baseHash: string, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void>;
}

/** In-memory LRU bounded by entry count (lru-cache). */
export class MemoryEmbeddingCache implements EmbeddingCache {
  private readonly lru: LRUCache<string, Float32Array>;

  constructor(maxEntries = 100_000) {
    this.lru = new LRUCache({ max: maxEntries });
  }

  get size(): number {
    return this.lru.size;
  }

  async get(baseHash: string, textHashes: readonly string[]): Promise<(Float32Array | undefined)[]> {
    return textHashes.map((h) => this.lru.get(`${baseHash}/${h}`));
  }

  async put(baseHash: string, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void> {
    for (const e of entries) this.lru.set(`${baseHash}/${e.textHash}`, e.embedding);
  }
}

const HASH_BYTES = 32;

interface BaseFile {
  handle: FileHandle;
  dim: number | undefined;
  /** text hash → byte offset of its vector */
  offsets: Map<string, number>;
  size: number;
  /** appends run one after another: each computes offsets from the size the previous one left */
  writing: Promise<void>;
}

/**
 * Persistent cache: one append-only file per base hash in `dir`, records of [32-byte text hash,
 * dim float32]. Only the index (hash → offset) lives in memory; rows are read on demand. A record
 * torn by a crash at the end of the file is ignored and overwritten by the next append.
 */
export class FileEmbeddingCache implements EmbeddingCache {
  private readonly files = new Map<string, Promise<BaseFile>>();

  constructor(private readonly dir: string) {}

  private file(baseHash: string): Promise<BaseFile> {
    if (!/^[0-9a-f]{16,128}$/.test(baseHash)) throw new RangeError(`base hash ${baseHash} is not a hex digest`);
    let f = this.files.get(baseHash);
    if (f === undefined) {
      f = this.openFile(baseHash);
      this.files.set(baseHash, f);
    }
    return f;
  }

  private async openFile(baseHash: string): Promise<BaseFile> {
    await mkdir(this.dir, { recursive: true });
    const handle = await open(join(this.dir, `${baseHash}.emb`), 'a+');
    const header = Buffer.alloc(4);
    const { bytesRead } = await handle.read(header, 0, 4, 0);
    const dim = bytesRead === 4 ? header.readUInt32LE(0) : undefined;
    const offsets = new Map<string, number>();
    let size = bytesRead === 4 ? 4 : 0;
    if (dim !== undefined) {
      const record = HASH_BYTES + dim * 4;
      const total = (await handle.stat()).size;
      const hash = Buffer.alloc(HASH_BYTES);
      for (let at = 4; at + record <= total; at += record) {
        await handle.read(hash, 0, HASH_BYTES, at);
        offsets.set(hash.toString('hex'), at + HASH_BYTES);
        size = at + record;
      }
      if (size < total) await handle.truncate(size);
    } else if (bytesRead > 0) await handle.truncate(0);
    return { handle, dim, offsets, size, writing: Promise.resolve() };
  }

  async get(baseHash: string, textHashes: readonly string[]): Promise<(Float32Array | undefined)[]> {
    const f = await this.file(baseHash);
    return Promise.all(
      textHashes.map(async (h) => {
        const at = f.offsets.get(h);
        if (at === undefined || f.dim === undefined) return undefined;
        const row = new Float32Array(f.dim);
        await f.handle.read(new Uint8Array(row.buffer), 0, f.dim * 4, at);
        return row;
      }),
    );
  }

  async put(baseHash: string, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void> {
    const f = await this.file(baseHash);
    const done = f.writing.then(() => this.append(f, entries));
    f.writing = done.catch(() => undefined);
    return done;
  }

  private async append(f: BaseFile, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void> {
    const unique = new Map(entries.map((e) => [e.textHash, e]));
    const fresh = [...unique.values()].filter((e) => !f.offsets.has(e.textHash));
    if (fresh.length === 0) return;
    const dim = f.dim ?? fresh[0]!.embedding.length;
    const chunks: Uint8Array[] = [];
    if (f.dim === undefined) {
      const header = Buffer.alloc(4);
      header.writeUInt32LE(dim, 0);
      chunks.push(header);
    }
    let at = f.size + (f.dim === undefined ? 4 : 0);
    const added: [string, number][] = [];
    for (const e of fresh) {
      if (e.embedding.length !== dim) throw new RangeError(`embedding has ${e.embedding.length} dimensions, the cache for this base holds ${dim}`);
      chunks.push(Buffer.from(e.textHash, 'hex'), new Uint8Array(e.embedding.buffer, e.embedding.byteOffset, e.embedding.byteLength));
      added.push([e.textHash, at + HASH_BYTES]);
      at += HASH_BYTES + dim * 4;
    }
    await f.handle.write(Buffer.concat(chunks), 0, undefined, f.size);
    f.dim = dim;
    f.size = at;
    for (const [h, o] of added) f.offsets.set(h, o);
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map(async (f) => (await f).handle.close()));
  }
}
