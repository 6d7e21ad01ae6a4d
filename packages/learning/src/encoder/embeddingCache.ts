import { createHash } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
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
const HEADER_BYTES = 4;

interface BaseFile {
  path: string;
  handle: FileHandle;
  dim: number | undefined;
  /** text hash → byte offset of its vector, least recently used first (a read moves a row to the end) */
  offsets: Map<string, number>;
  size: number;
  /** reads, appends and compactions run one after another: a compaction moves every row */
  queue: Promise<void>;
}

export interface FileEmbeddingCacheOptions {
  /**
   * Most bytes the cache folder may hold (default: unbounded). Past it, the files of other bases go
   * first (oldest first), then the least recently used rows of this base: it is compacted to half
   * the limit, so a compaction is rare and a retrain only re-embeds rows no recent run used.
   */
  maxBytes?: number;
}

/**
 * Persistent cache: one append-only file per base hash in `dir`, records of [32-byte text hash,
 * dim float32]. Only the index (hash → offset) lives in memory; rows are read on demand. A record
 * torn by a crash at the end of the file is ignored and overwritten by the next append.
 */
export class FileEmbeddingCache implements EmbeddingCache {
  private readonly files = new Map<string, Promise<BaseFile>>();
  /** rows dropped to stay under maxBytes since this cache was opened */
  evicted = 0;

  constructor(private readonly dir: string, private readonly options: FileEmbeddingCacheOptions = {}) {
    if (options.maxBytes !== undefined && !(options.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${options.maxBytes}`);
  }

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
    const path = join(this.dir, `${baseHash}.emb`);
    const handle = await open(path, 'a+');
    const header = Buffer.alloc(HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, HEADER_BYTES, 0);
    const dim = bytesRead === HEADER_BYTES ? header.readUInt32LE(0) : undefined;
    const offsets = new Map<string, number>();
    let size = bytesRead === HEADER_BYTES ? HEADER_BYTES : 0;
    if (dim !== undefined) {
      const record = HASH_BYTES + dim * 4;
      const total = (await handle.stat()).size;
      const hash = Buffer.alloc(HASH_BYTES);
      for (let at = HEADER_BYTES; at + record <= total; at += record) {
        await handle.read(hash, 0, HASH_BYTES, at);
        offsets.set(hash.toString('hex'), at + HASH_BYTES);
        size = at + record;
      }
      if (size < total) await handle.truncate(size);
    } else if (bytesRead > 0) await handle.truncate(0);
    return { path, handle, dim, offsets, size, queue: Promise.resolve() };
  }

  /** Runs `task` after everything queued on this base's file. */
  private serial<T>(f: BaseFile, task: () => Promise<T>): Promise<T> {
    const done = f.queue.then(task);
    f.queue = done.then(() => undefined, () => undefined);
    return done;
  }

  async get(baseHash: string, textHashes: readonly string[]): Promise<(Float32Array | undefined)[]> {
    const f = await this.file(baseHash);
    return this.serial(f, () =>
      Promise.all(
        textHashes.map(async (h) => {
          const at = f.offsets.get(h);
          if (at === undefined || f.dim === undefined) return undefined;
          if (this.options.maxBytes !== undefined) {
            f.offsets.delete(h);
            f.offsets.set(h, at);
          }
          const row = new Float32Array(f.dim);
          await f.handle.read(new Uint8Array(row.buffer), 0, f.dim * 4, at);
          return row;
        }),
      ),
    );
  }

  async put(baseHash: string, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void> {
    const f = await this.file(baseHash);
    return this.serial(f, () => this.append(f, entries));
  }

  private async append(f: BaseFile, entries: readonly { textHash: string; embedding: Float32Array }[]): Promise<void> {
    const unique = new Map(entries.map((e) => [e.textHash, e]));
    let fresh = [...unique.values()].filter((e) => !f.offsets.has(e.textHash));
    if (fresh.length === 0) return;
    const dim = f.dim ?? fresh[0]!.embedding.length;
    for (const e of fresh) {
      if (e.embedding.length !== dim) throw new RangeError(`embedding has ${e.embedding.length} dimensions, the cache for this base holds ${dim}`);
    }
    const record = HASH_BYTES + dim * 4;
    const max = this.options.maxBytes;
    if (max !== undefined) {
      // More new rows than the limit holds: keep the last ones (the most recently embedded).
      const fits = Math.max(0, Math.floor((max - HEADER_BYTES) / record));
      if (fresh.length > fits) {
        this.evicted += fresh.length - fits;
        fresh = fresh.slice(fresh.length - fits);
        if (fresh.length === 0) return;
      }
      const adding = fresh.length * record + (f.dim === undefined ? HEADER_BYTES : 0);
      // One listing of the folder serves both the check and, when over, the choice of what to remove.
      const others = await this.otherFiles(f);
      if (f.size + others.reduce((sum, o) => sum + o.bytes, 0) + adding > max) await this.makeRoom(f, dim, adding, others);
    }
    const chunks: Uint8Array[] = [];
    if (f.dim === undefined) {
      const header = Buffer.alloc(HEADER_BYTES);
      header.writeUInt32LE(dim, 0);
      chunks.push(header);
    }
    let at = f.size + (f.dim === undefined ? HEADER_BYTES : 0);
    const added: [string, number][] = [];
    for (const e of fresh) {
      chunks.push(Buffer.from(e.textHash, 'hex'), new Uint8Array(e.embedding.buffer, e.embedding.byteOffset, e.embedding.byteLength));
      added.push([e.textHash, at + HASH_BYTES]);
      at += record;
    }
    await f.handle.write(Buffer.concat(chunks), 0, undefined, f.size);
    f.dim = dim;
    f.size = at;
    for (const [h, o] of added) f.offsets.set(h, o);
  }

  private async otherFiles(f: BaseFile): Promise<{ path: string; bytes: number; mtimeMs: number }[]> {
    const names = (await readdir(this.dir)).filter((n) => n.endsWith('.emb') && join(this.dir, n) !== f.path);
    const open = new Set(await Promise.all([...this.files.values()].map(async (p) => (await p).path)));
    const found = await Promise.all(
      names.map(async (n) => {
        const path = join(this.dir, n);
        try {
          const st = await stat(path);
          return { path, bytes: st.size, mtimeMs: st.mtimeMs, open: open.has(path) };
        } catch {
          return undefined; // removed meanwhile
        }
      }),
    );
    // Files this cache has open are in use by this run: never removed from under it.
    return found.filter((x): x is { path: string; bytes: number; mtimeMs: number; open: boolean } => x !== undefined && !x.open);
  }

  /** Frees room for `adding` bytes: other bases' files first (oldest first), then this base's least recently used rows. */
  private async makeRoom(f: BaseFile, dim: number, adding: number, listed: readonly { path: string; bytes: number; mtimeMs: number }[]): Promise<void> {
    const max = this.options.maxBytes!;
    const others = [...listed].sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = f.size + others.reduce((s, o) => s + o.bytes, 0);
    for (const o of others) {
      if (total + adding <= max) return;
      await unlink(o.path).catch(() => undefined);
      total -= o.bytes;
    }
    if (total + adding <= max) return;
    const record = HASH_BYTES + dim * 4;
    const keepBytes = Math.max(0, Math.floor((max - adding) / 2) - HEADER_BYTES);
    await this.compact(f, Math.floor(keepBytes / record));
  }

  /** Rewrites this base's file with only its `keep` most recently used rows (a new file, renamed over the old). */
  private async compact(f: BaseFile, keep: number): Promise<void> {
    const rows = [...f.offsets.entries()];
    const kept = rows.slice(Math.max(0, rows.length - keep));
    this.evicted += rows.length - kept.length;
    const dim = f.dim!;
    const record = HASH_BYTES + dim * 4;
    const out = Buffer.alloc(HEADER_BYTES + kept.length * record);
    out.writeUInt32LE(dim, 0);
    const offsets = new Map<string, number>();
    let at = HEADER_BYTES;
    for (const [h, from] of kept) {
      Buffer.from(h, 'hex').copy(out, at);
      await f.handle.read(out, at + HASH_BYTES, dim * 4, from);
      offsets.set(h, at + HASH_BYTES);
      at += record;
    }
    const tmp = `${f.path}.compact`;
    const w = await open(tmp, 'w');
    try {
      await w.write(out, 0, out.length, 0);
      await w.sync();
    } finally {
      await w.close();
    }
    await rename(tmp, f.path);
    await f.handle.close();
    f.handle = await open(f.path, 'a+');
    f.offsets = offsets;
    f.size = at;
  }

  async close(): Promise<void> {
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map(async (p) => {
      const f = await p;
      await f.queue;
      await f.handle.close();
    }));
  }
}
