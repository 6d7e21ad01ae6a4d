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
 * an over-limit client costs no Redis round trip; every request within the budget still counts in Redis.
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
  return {
    consume: async (client, scope) => {
      const limiter = limiters.get(scope);
      if (limiter === undefined) return;
      try {
        await limiter.consume(client.name, 1);
      } catch (err) {
        // The library rejects with a RateLimiterRes when the budget is spent; anything else is a store error the insurance limiter did not absorb.
        if (!(err instanceof RateLimiterRes)) throw err;
        const retryAfterSeconds = Math.max(1, Math.ceil(err.msBeforeNext / 1000));
        throw new RateLimited(`client "${client.name}" sent more than ${limiter.points} ${scope} requests in ${limiter.duration}s; retry after ${retryAfterSeconds}s`, {
          reason: 'rate_limited', details: { scope, limit: limiter.points, windowSeconds: limiter.duration, retryAfterSeconds },
        });
      }
    },
  };
};

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
