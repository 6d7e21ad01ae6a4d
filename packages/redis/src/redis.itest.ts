import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, RedisDedupe, RedisLocks } from './index.js';

const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t-${randomUUID()}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

describe('RedisLocks (real Redis)', () => {
  it('grants one holder, with rising fencing tokens, and lets the lease expire if its holder dies', async () => {
    const locks = new RedisLocks(redis, prefix);
    const [a, b] = await Promise.all([locks.acquire('m', 300), locks.acquire('m', 300)]);
    const granted = [a, b].filter((x) => x !== undefined);
    expect(granted).toHaveLength(1);
    expect(await locks.holder('m')).toBe(granted[0]?.token);
    await new Promise((r) => setTimeout(r, 400));
    const c = await locks.acquire('m', 1000);
    expect(c?.token).toBeGreaterThan(granted[0]!.token);
    expect(await locks.release(granted[0]!)).toBe(false);
    expect(await locks.extend(c!, 1000)).toBe(true);
    expect(await locks.release(c!)).toBe(true);
  });

  it('keeps tokens rising after the fence counter is lost', async () => {
    const locks = new RedisLocks(redis, prefix);
    const a = await locks.acquire('n', 1000);
    await locks.release(a!);
    await redis.del(`${prefix}:fence:n`);
    // The counter restarts from the clock (ms): a loss and a new grant within the same millisecond is not covered.
    await new Promise((r) => setTimeout(r, 5));
    const b = await locks.acquire('n', 1000);
    expect(b!.token).toBeGreaterThan(a!.token);
  });
});

describe('RedisDedupe (real Redis)', () => {
  it('remembers marked ids per group', async () => {
    const d = new RedisDedupe(redis, { prefix, ttlSeconds: 60 });
    await d.mark('g1', ['a', 'b']);
    expect(await d.seen('g1', ['a', 'c', 'b'])).toEqual([true, false, true]);
    expect(await d.seen('g2', ['a'])).toEqual([false]);
  });

  it('stores a UUID id as its 16 bytes and still tells one UUID from another', async () => {
    const d = new RedisDedupe(redis, { prefix, ttlSeconds: 60 });
    const [a, b] = [randomUUID(), randomUUID()];
    await d.mark('g3', [a]);
    expect(await d.seen('g3', [a, a.toUpperCase(), b])).toEqual([true, true, false]);
    const [key] = await redis.keys(`${prefix}:processed:g3:*`);
    const fields = await redis.hkeysBuffer(key!);
    expect(fields.map((f) => f.length)).toEqual([16]);
  });
});

describe('RedisDedupe with large batches (real Redis)', () => {
  it('checks and records a batch larger than Lua can unpack at once (about 8,000 values), id by id', async () => {
    const d = new RedisDedupe(redis, { prefix, ttlSeconds: 60 });
    const ids = Array.from({ length: 12_000 }, (_, i) => (i % 5 === 0 ? `plain-${i}` : randomUUID()));
    const marked = ids.filter((_, i) => i % 3 === 0);
    await d.mark('g4', marked);
    const seen = await d.seen('g4', ids);
    expect(seen.filter(Boolean)).toHaveLength(marked.length);
    expect(seen.every((s, i) => s === (i % 3 === 0))).toBe(true);
  });
});

describe('RedisDedupe buckets (real Redis)', () => {
  it('remembers an id for at least the window and forgets it within one and a half', async () => {
    const t0 = 1_000_000_000; // the start of a slice (half a window)
    let t = t0;
    const d = new RedisDedupe(redis, { prefix, ttlSeconds: 10, now: () => t });
    await d.mark('g', ['x']); // marked at the start of its slice
    t = t0 + 4_999;
    await d.mark('g', ['z']); // marked at the end of the same slice
    t = t0 + 10_000;
    expect(await d.seen('g', ['x', 'y', 'z'])).toEqual([true, false, true]);
    t = t0 + 14_999; // z was marked one window ago
    expect(await d.seen('g', ['x', 'z'])).toEqual([true, true]);
    t = t0 + 15_000; // x was marked 1.5 windows ago
    expect(await d.seen('g', ['x', 'z'])).toEqual([false, false]);
  });
});
