import type { TextEncoder } from '@flywheel/learning';
import { createMicroBatcher, type MicroBatchOptions } from '@flywheel/runtime';
import type { EncoderSource } from './ports.js';

/** What the versions on an encoder share: its hash, width and the micro-batched embed. */
export type SharedEncoder = Pick<TextEncoder, 'hash' | 'dim' | 'embed'>;

interface Entry {
  encoder: Promise<{ opened: TextEncoder; shared: SharedEncoder }>;
  users: number;
}

/**
 * One encoder session per encoder hash, whatever model or base version uses it: opened on first
 * use, counted per user, released with its last user. Every user's embed calls go through one
 * micro-batcher, so concurrent requests to different versions still share encoder runs.
 */
export class EncoderPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly open: (source: EncoderSource) => Promise<TextEncoder>, private readonly batching: MicroBatchOptions) {}

  async acquire(source: EncoderSource): Promise<SharedEncoder> {
    let entry = this.entries.get(source.hash);
    if (entry === undefined) {
      const created: Entry = {
        encoder: this.open(source).then((opened) => ({ opened, shared: { hash: opened.hash, dim: opened.dim, embed: createMicroBatcher((texts: readonly string[]) => opened.embed(texts), this.batching) } })),
        users: 0,
      };
      this.entries.set(source.hash, created);
      created.encoder.catch(() => {
        if (this.entries.get(source.hash) === created) this.entries.delete(source.hash);
      });
      entry = created;
    }
    entry.users++;
    try {
      return (await entry.encoder).shared;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  async release(hash: string): Promise<void> {
    const entry = this.entries.get(hash);
    if (entry === undefined) return;
    entry.users--;
    if (entry.users > 0) return;
    this.entries.delete(hash);
    await (await entry.encoder).opened.release();
  }

  /** Number of open encoder sessions (tests and the loaded-bases view). */
  get size(): number {
    return this.entries.size;
  }

  async closeAll(): Promise<void> {
    const entries = [...this.entries.values()];
    this.entries.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.encoder).opened.release()));
  }
}
