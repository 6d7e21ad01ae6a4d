import type { Logger } from '@flywheel/runtime';
import type { BaseModel, InferenceEngine } from './ports.js';

interface BaseEntry {
  base: Promise<BaseModel>;
  users: number;
}

/**
 * The loaded base models, shared by the versions (adapters) that use them: a base is read and
 * loaded once per model and base version, counted per user, and released when its last user goes.
 */
export class BaseModelCache {
  private readonly bases = new Map<string, BaseEntry>();

  constructor(private readonly engine: InferenceEngine, private readonly log: Logger) {}

  /** The base, loaded from `read()` unless already loaded or loading; the caller becomes a user. */
  async acquire(model: string, baseVersion: string, read: () => Promise<Uint8Array>): Promise<BaseModel> {
    return this.acquireWith(model, baseVersion, async () => this.engine.loadBase(await read()));
  }

  /** The base, made by `load()` unless already loaded or loading (encoder and imported bases load their own way). */
  async acquireWith(model: string, baseVersion: string, load: () => Promise<BaseModel>): Promise<BaseModel> {
    const key = `${model}\u0000${baseVersion}`;
    let entry = this.bases.get(key);
    if (entry === undefined) {
      const created: BaseEntry = { base: load(), users: 0 };
      this.bases.set(key, created);
      created.base.catch(() => {
        if (this.bases.get(key) === created) this.bases.delete(key);
      });
      entry = created;
    }
    entry.users++;
    try {
      return await entry.base;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  /** Drops one user; the last one releases the base. */
  async release(model: string, baseVersion: string): Promise<void> {
    const key = `${model}\u0000${baseVersion}`;
    const entry = this.bases.get(key);
    if (entry === undefined) return;
    entry.users--;
    if (entry.users > 0) return;
    this.bases.delete(key);
    await (await entry.base).release();
    this.log.info({ model, baseVersion }, 'released a base model');
  }

  /** Releases every base, used or not (at shutdown). */
  async releaseAll(): Promise<void> {
    const entries = [...this.bases.values()];
    this.bases.clear();
    await Promise.allSettled(entries.map(async (e) => (await e.base).release()));
  }
}
