/**
 * The one retraining lease: at most one training per model at a time, across every path that
 * starts one (aggregator rules, drift-monitor, the manual trigger) and the trainer that runs it.
 *
 *   const leases = new RetrainLeases(new RedisLocks(redis, config.REDIS_PREFIX));
 *   const lease = await leases.acquire(model, ttlMs);           // undefined: a training is under way
 *   if (lease) publish a trigger carrying lease.token as its fencingToken;
 *   // the trainer, from the trigger: const lease = { model: trigger.subject, token: trigger.data.fencingToken };
 *   if (!(await leases.extend(lease, ttlMs))) abort: someone else holds the model now;
 *   await leases.release(lease);                                // false when it had already expired or moved on
 *
 * Built on RedisLocks, so tokens keep rising even after Redis loses the fence counter. The Redis
 * key is `<prefix>:lock:retrain:<model>`, the key every service used before this helper, so
 * services can adopt it one at a time.
 */
import { FencingToken } from '@flywheel/contracts';
import type { Locks } from './RedisLocks.js';

/** The lock name of a model's retraining (RedisLocks adds its prefix). Defined here and nowhere else. */
export const retrainLeaseKey = (model: string): string => `retrain:${model}`;

/** A grant of a model's retraining lease; the token is the trigger's fencing token. */
export interface RetrainLease {
  readonly model: string;
  readonly token: FencingToken;
}

export class RetrainLeases {
  constructor(private readonly locks: Locks) {}

  /** Takes the model's lease for ttlMs, or undefined while another holds it. */
  async acquire(model: string, ttlMs: number): Promise<RetrainLease | undefined> {
    const lease = await this.locks.acquire(retrainLeaseKey(model), ttlMs);
    // Parsed: a token that is not a positive integer would let a stale holder through the fence.
    return lease ? { model, token: FencingToken.parse(lease.token) } : undefined;
  }

  /** Extends the lease to ttlMs from now; false when it was lost (expired, flushed, or taken by a newer token): stop the work. */
  extend(lease: RetrainLease, ttlMs: number): Promise<boolean> {
    return this.locks.extend({ key: retrainLeaseKey(lease.model), token: lease.token }, ttlMs);
  }

  /** Releases the lease if still held with this token; false when it had already expired or moved on (nothing to do). */
  release(lease: RetrainLease): Promise<boolean> {
    return this.locks.release({ key: retrainLeaseKey(lease.model), token: lease.token });
  }

  /** The fencing token of the model's current holder, or undefined when nobody holds it. */
  async holder(model: string): Promise<FencingToken | undefined> {
    const token = await this.locks.holder(retrainLeaseKey(model));
    return token === undefined ? undefined : FencingToken.parse(token);
  }
}
