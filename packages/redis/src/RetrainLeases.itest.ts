import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FencingToken } from '@flywheel/contracts';
import { createRedis, RedisLocks, RetrainLeases, retrainLeaseKey } from './index.js';

const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `t-lease-${randomUUID()}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

// A clock the test moves by hand: the fence counter restarts from it after a flush.
let clock = Date.now();
const leases = new RetrainLeases(new RedisLocks(redis, prefix, () => clock));

describe('RetrainLeases (real Redis)', () => {
  it('grants one holder per model, whose token the holder() of every service sees', async () => {
    const grants = (await Promise.all([1, 2, 3].map(() => leases.acquire('one', 60_000)))).filter((l) => l !== undefined);
    expect(grants).toHaveLength(1);
    const lease = grants[0]!;
    expect(lease.model).toBe('one');
    expect(await leases.holder('one')).toBe(lease.token);
    expect(await leases.holder('other')).toBeUndefined();
    // The same Redis key as every service's own lock before this helper, so adoption can be gradual.
    expect(retrainLeaseKey('one')).toBe('retrain:one');
    expect(await redis.get(`${prefix}:lock:retrain:one`)).toBe(String(lease.token));
    expect(await new RedisLocks(redis, prefix).holder('retrain:one')).toBe(lease.token);
    expect(await leases.release(lease)).toBe(true);
    expect(await leases.holder('one')).toBeUndefined();
    expect(await leases.release(lease)).toBe(false);
  });

  it('lets the trainer extend and release a lease rebuilt from a trigger, and refuses a stale token', async () => {
    const granted = await leases.acquire('two', 60_000);
    const fromTrigger = { model: 'two', token: FencingToken.parse(granted!.token) };
    expect(await leases.extend(fromTrigger, 120_000)).toBe(true);
    expect(await redis.pttl(`${prefix}:lock:retrain:two`)).toBeGreaterThan(60_000);
    const stale = { model: 'two', token: FencingToken.parse(granted!.token - 1) };
    expect(await leases.extend(stale, 60_000)).toBe(false);
    expect(await leases.release(stale)).toBe(false);
    expect(await leases.holder('two')).toBe(granted!.token);
    expect(await leases.release(fromTrigger)).toBe(true);
  });

  it('after Redis loses everything, a new grant has a larger token and the old holder can neither extend nor release it', async () => {
    const old = await leases.acquire('three', 60_000);
    expect(old).toBeDefined();
    await redis.del(`${prefix}:lock:retrain:three`, `${prefix}:fence:retrain:three`); // what FLUSHALL does to this model
    clock += 1;
    const next = await leases.acquire('three', 60_000);
    expect(next!.token).toBeGreaterThan(old!.token);
    expect(await leases.extend(old!, 60_000)).toBe(false);
    expect(await leases.release(old!)).toBe(false);
    expect(await leases.holder('three')).toBe(next!.token);
    expect(await leases.acquire('three', 60_000)).toBeUndefined();
    expect(await leases.release(next!)).toBe(true);
  });
});
