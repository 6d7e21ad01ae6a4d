import type { Redis } from 'ioredis';

export interface Lease {
  key: string;
  token: number;
}

/** A lock whose every grant carries a strictly larger fencing token than the one before. */
export interface Locks {
  /** Takes the lock, or returns undefined while someone else holds it. */
  acquire(key: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease still held with this token; false when it was lost. */
  extend(lease: Lease, ttlMs: number): Promise<boolean>;
  /** Releases a lease still held with this token; false when it had already expired or moved on. */
  release(lease: Lease): Promise<boolean>;
  /** The token of the current holder, if any. */
  holder(key: string): Promise<number | undefined>;
}

// The fence counter starts at the current time in ms when missing, so tokens keep rising even
// after Redis is flushed (a restarted counter would otherwise hand out tokens a trainer refuses).
// The guarantee holds when the clock has moved on by at least a millisecond since the last grant.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[2], ARGV[2]) end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token`;
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export class RedisLocks implements Locks {
  constructor(private readonly redis: Redis, private readonly prefix = 'flywheel', private readonly now: () => number = Date.now) {}

  private keys(key: string): [string, string] {
    return [`${this.prefix}:lock:${key}`, `${this.prefix}:fence:${key}`];
  }

  async acquire(key: string, ttlMs: number): Promise<Lease | undefined> {
    const [lock, fence] = this.keys(key);
    const token = Number(await this.redis.eval(ACQUIRE, 2, lock, fence, String(ttlMs), String(this.now())));
    return token > 0 ? { key, token } : undefined;
  }

  async extend(lease: Lease, ttlMs: number): Promise<boolean> {
    return Number(await this.redis.eval(EXTEND, 1, this.keys(lease.key)[0], String(lease.token), String(ttlMs))) === 1;
  }

  async release(lease: Lease): Promise<boolean> {
    return Number(await this.redis.eval(RELEASE, 1, this.keys(lease.key)[0], String(lease.token))) === 1;
  }

  async holder(key: string): Promise<number | undefined> {
    const v = await this.redis.get(this.keys(key)[0]);
    return v === null ? undefined : Number(v);
  }
}
