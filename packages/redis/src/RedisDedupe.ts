import type { Redis } from 'ioredis';

/** Remembers which event ids a consumer group has processed. */
export interface Dedupe {
  /** For each id, whether it was already processed. */
  seen(group: string, ids: readonly string[]): Promise<boolean[]>;
  /** Records ids as processed. */
  mark(group: string, ids: readonly string[]): Promise<void>;
}

/** Processed ids as Redis keys with a TTL: long enough to cover redelivery, short enough to stay small. */
export class RedisDedupe implements Dedupe {
  constructor(private readonly redis: Redis, private readonly opts: { ttlSeconds?: number; prefix?: string } = {}) {}

  private key(group: string, id: string): string {
    return `${this.opts.prefix ?? 'flywheel'}:processed:${group}:${id}`;
  }

  async seen(group: string, ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.key(group, id)));
    return values.map((v) => v !== null);
  }

  async mark(group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const ttl = this.opts.ttlSeconds ?? 7 * 24 * 3600;
    const p = this.redis.pipeline();
    for (const id of ids) p.set(this.key(group, id), '1', 'EX', ttl);
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
