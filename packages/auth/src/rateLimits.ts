import type { NextFunction, Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Redis } from '@flywheel/redis';
import { RateLimited } from '@flywheel/runtime';
import { failWithHeaders, clientOf } from './authorize.js';
import type { Client, Scope } from './client.js';

/** `points` requests per client per `durationSec` seconds. */
export interface Limit {
  points: number;
  durationSec: number;
}

export interface RateLimitsOptions {
  redis: Redis;
  /** Prefix of the Redis keys (`<REDIS_PREFIX>rl:<service>`): the window is shared by every replica using it. */
  keyPrefix: string;
  /** The limit per scope; a scope without one is not limited. */
  limits: Partial<Record<Scope, Limit>>;
}

/** Per-client request budgets, one per scope. */
export interface RateLimits {
  /** Spends one request of `client`'s budget for `scope`; throws RateLimited (429, `retryAfterSeconds` in details) when it is spent. */
  consume(client: Pick<Client, 'name'>, scope: Scope): Promise<void>;
}

/**
 * Fixed-window counters in Redis from rate-limiter-flexible, keyed `<keyPrefix>:<scope>:<client>`.
 * If Redis fails, each process falls back to an in-memory limiter with the same budget (the
 * library's insurance limiter), so an outage neither opens the gates nor refuses every request.
 * A client that has spent its budget is refused from process memory until its Redis window ends, so
 * an over-limit client costs no Redis round trip.
 *
 * Large budgets are taken from Redis in leases (`leaseOf`): one round trip spends up to 1% of the
 * budget (at most 100 requests) at once, and this process answers that many of the client's
 * requests from memory. Without them every predict request waited for a Redis call, and Redis's CPU
 * competed with serving's on the same cores. Nothing is ever admitted over the budget (a lease that
 * does not fit is cut to what is left); the cost is that points one replica leased and did not use
 * are not available to the others until the window ends, so a client spreading its requests over R
 * replicas may be refused up to R × lease requests early. Budgets under 200 per window are counted
 * one request at a time, exactly as before.
 */
export const createRateLimits = (opts: RateLimitsOptions): RateLimits => {
  const limiters = new Map<Scope, RateLimiterRedis>();
  for (const [scope, limit] of Object.entries(opts.limits) as [Scope, Limit | undefined][]) {
    if (limit === undefined) continue;
    if (!(Number.isInteger(limit.points) && limit.points > 0 && Number.isInteger(limit.durationSec) && limit.durationSec > 0)) {
      throw new RangeError(`rate limit for "${scope}" must be whole points > 0 per whole durationSec > 0, not ${JSON.stringify(limit)}`);
    }
    const keyPrefix = `${opts.keyPrefix}:${scope}`;
    limiters.set(scope, new RateLimiterRedis({
      storeClient: opts.redis, keyPrefix, points: limit.points, duration: limit.durationSec,
      // Not ready (reconnecting) → the insurance limiter answers at once instead of queueing the request.
      rejectIfRedisNotReady: true,
      // Once a window's count reaches the budget, Redis refuses every further request in it (a fixed
      // window only counts up), so this process refuses them itself until then. With no
      // inMemoryBlockDuration the library blocks for the window's remaining ms as Redis reported it
      // (rate-limiter-flexible 11, RateLimiterStoreAbstract._afterConsume): never shorter than Redis's
      // window, so the limit is not weakened; other processes still ask Redis and are refused there.
      inMemoryBlockOnConsumed: limit.points,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points: limit.points, duration: limit.durationSec }),
    }));
  }
  // Per scope and client: requests this process may still admit without asking Redis, until the window it was leased in ends.
  const leases = new Map<string, Lease>();
  const refused = (client: Pick<Client, 'name'>, scope: Scope, limiter: RateLimiterRedis, msBeforeNext: number): RateLimited => {
    const retryAfterSeconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
    return new RateLimited(`client "${client.name}" sent more than ${limiter.points} ${scope} requests in ${limiter.duration}s; retry after ${retryAfterSeconds}s`, {
      reason: 'rate_limited', details: { scope, limit: limiter.points, windowSeconds: limiter.duration, retryAfterSeconds },
    });
  };
  /** Spends `size` points in Redis and keeps what this request did not use; cut to what was left when the window had less. */
  const takeLease = async (client: Pick<Client, 'name'>, scope: Scope, limiter: RateLimiterRedis, lease: Lease, size: number): Promise<void> => {
    try {
      const res = await limiter.consume(client.name, size);
      lease.left = size - 1;
      lease.until = Date.now() + res.msBeforeNext;
    } catch (err) {
      // The library rejects with a RateLimiterRes when the budget is spent; anything else is a store error the insurance limiter did not absorb.
      if (!(err instanceof RateLimiterRes)) throw err;
      // Counted by the store (not refused from memory, which reports 0 consumed): the points that were still free are this lease's.
      const free = err.consumedPoints > limiter.points ? limiter.points - (err.consumedPoints - size) : 0;
      if (free <= 0) throw refused(client, scope, limiter, err.msBeforeNext);
      lease.left = free - 1;
      lease.until = Date.now() + err.msBeforeNext;
    }
  };
  return {
    consume: async (client, scope) => {
      const limiter = limiters.get(scope);
      if (limiter === undefined) return;
      const key = `${scope}\u0000${client.name}`;
      let lease = leases.get(key);
      if (lease === undefined) {
        lease = { left: 0, until: 0, taking: undefined };
        leases.set(key, lease);
      }
      for (;;) {
        if (lease.left > 0 && Date.now() < lease.until) {
          lease.left--;
          return;
        }
        // One lease request per client at a time: concurrent requests wait for it, then spend from it.
        if (lease.taking === undefined) {
          const taking = takeLease(client, scope, limiter, lease, leaseOf(limiter.points));
          lease.taking = taking;
          try {
            await taking;
            return;
          } finally {
            lease.taking = undefined;
          }
        }
        // A refusal is the lease taker's answer; the waiters ask again (the library refuses them from memory).
        await lease.taking.catch(() => {});
      }
    },
  };
};

interface Lease {
  left: number;
  /** epoch ms when the Redis window the points came from ends */
  until: number;
  taking: Promise<void> | undefined;
}

/** Points one Redis call takes for a budget of `points` per window: 1% of it, at most 100, and 1 under 200 (counted exactly). */
export const leaseOf = (points: number): number => Math.max(1, Math.min(100, Math.floor(points / 100)));

/** Express middleware after requireScope: spends one request of the client's `scope` budget; 429 with Retry-After when spent. */
export const rateLimit = (limits: RateLimits, scope: Scope) => (_req: Request, res: Response, next: NextFunction): void => {
  let client: Client;
  try {
    client = clientOf(res);
  } catch (err) {
    next(err);
    return;
  }
  limits.consume(client, scope).then(() => next(), (err: unknown) => failWithHeaders(res, next, err));
};
