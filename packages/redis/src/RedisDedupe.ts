import type { Redis } from 'ioredis';

/** Remembers which event ids a consumer group has processed. */
export interface Dedupe {
  /** For each id, whether it was already processed. */
  seen(group: string, ids: readonly string[]): Promise<boolean[]>;
  /** Records ids as processed. */
  mark(group: string, ids: readonly string[]): Promise<void>;
}

/**
 * Processed ids as fields of one Redis hash per group and time bucket. A batch costs two commands
 * to check (this bucket and the one before) and two to record (HSET of every id, EXPIRE), instead
 * of one command per id; an id is remembered for between one and two `ttlSeconds`.
 */
export class RedisDedupe implements Dedupe {
  private readonly ttl: number;
  constructor(
    private readonly redis: Redis,
    private readonly opts: { ttlSeconds?: number; prefix?: string; now?: () => number } = {},
  ) {
    this.ttl = opts.ttlSeconds ?? 7 * 24 * 3600;
  }

  private bucket(): number {
    return Math.floor((this.opts.now ?? Date.now)() / 1000 / this.ttl);
  }

  private key(group: string, bucket: number): string {
    return `${this.opts.prefix ?? 'flywheel'}:processed:${group}:${bucket}`;
  }

  async seen(group: string, ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const b = this.bucket();
    const res = await this.redis.pipeline().hmget(this.key(group, b), ...ids).hmget(this.key(group, b - 1), ...ids).exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed?.[0]) throw failed?.[0] ?? new Error('Redis pipeline returned nothing');
    const current = res[0]?.[1] as (string | null)[];
    const previous = res[1]?.[1] as (string | null)[];
    return ids.map((_, i) => current[i] !== null || previous[i] !== null);
  }

  async mark(group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const key = this.key(group, this.bucket());
    const fields: string[] = [];
    for (const id of ids) fields.push(id, '1');
    const res = await this.redis.pipeline().hset(key, ...fields).expire(key, this.ttl * 2).exec();
    const failed = res?.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }
}
