import type { Redis } from 'ioredis';
import type { Publisher } from '@flywheel/bus';
import { makeEvent, type FencingToken } from '@flywheel/contracts';
import type { Locks } from '@flywheel/redis';

/** The retraining lock key every trigger source shares (aggregator, feedback-ingest, this service; the trainer releases it). */
export const retrainLockKey = (model: string): string => `retrain:${model}`;

/** Why a significant drift did or did not become a trigger. */
export type TriggerOutcome = { triggered: true; fencingToken: number } | { triggered: false; why: 'cooldown' | 'locked' };

/**
 * Asks for retraining on drift: skips while the model's cooldown runs, takes the shared retraining
 * lock (so it never races the aggregator or a manual trigger), publishes `retraining-triggers`
 * with the lock's fencing token, then starts the cooldown. The trainer releases the lock.
 */
export class RetrainTrigger {
  constructor(private readonly deps: { redis: Redis; locks: Locks; publisher: Publisher; lockTtlMs: number; cooldownMs: number; redisPrefix: string; source: string }) {}

  private cooldownKey(model: string): string {
    return `${this.deps.redisPrefix}:drift:cooldown:${model}`;
  }

  async fire(model: string, details: Record<string, number | string | boolean>, note: string): Promise<TriggerOutcome> {
    if ((await this.deps.redis.exists(this.cooldownKey(model))) === 1) return { triggered: false, why: 'cooldown' };
    const lease = await this.deps.locks.acquire(retrainLockKey(model), this.deps.lockTtlMs);
    if (!lease) return { triggered: false, why: 'locked' };
    try {
      await this.deps.publisher.publish('retrainingTriggers', makeEvent('retrainingTriggers', {
        source: this.deps.source, subject: model,
        data: { reason: 'drift', details, requestedBy: 'drift-monitor', note: note.slice(0, 2000), fencingToken: lease.token as FencingToken },
      }));
    } catch (err) {
      // Nothing was published: give the lock back so the model is not blocked until the TTL.
      await this.deps.locks.release(lease).catch(() => {});
      throw err;
    }
    await this.deps.redis.set(this.cooldownKey(model), String(lease.token), 'PX', this.deps.cooldownMs);
    return { triggered: true, fencingToken: lease.token };
  }
}
