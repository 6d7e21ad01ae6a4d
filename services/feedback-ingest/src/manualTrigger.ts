import { randomUUID } from 'node:crypto';
import { makeEvent, type FencingToken } from '@flywheel/contracts';
import { HttpError } from '@flywheel/http';
import type { Pool } from '@flywheel/postgres';
import type { Locks } from '@flywheel/redis';
import { INGEST_SOURCE } from './feedbackStore.js';
import type { ManualRetrain } from './httpSchemas.js';

/** The retraining lock key every trigger source shares (aggregator, drift-monitor, this service; the trainer releases it). */
export const retrainLockKey = (model: string): string => `retrain:${model}`;

export type ManualTrigger = (model: string, body: ManualRetrain) => Promise<{ triggerId: string; fencingToken: FencingToken; feedbackWatermark: number }>;

/**
 * An operator's retraining request: takes the model's retraining lock (so no rule fires while it
 * trains) and writes the `retraining-triggers` event to the outbox, which the relay publishes.
 * While the lock is held the answer is 409 naming the holder's token.
 */
export const createManualTrigger = (deps: {
  pool: Pool;
  locks: Locks;
  lockTtlMs: number;
  latestSequence: (model: string) => Promise<{ sequence: number; pendingCorrections: number }>;
  onWritten: () => void;
}): ManualTrigger => async (model, body) => {
  const lease = await deps.locks.acquire(retrainLockKey(model), deps.lockTtlMs);
  if (!lease) {
    const holder = await deps.locks.holder(retrainLockKey(model));
    throw new HttpError(409, 'retraining_in_progress', `model ${model} is already being retrained (lock held with fencing token ${holder ?? 'unknown'}); wait for it to finish`, { holderToken: holder ?? null });
  }
  try {
    const { sequence, pendingCorrections } = await deps.latestSequence(model);
    const triggerId = randomUUID();
    const event = makeEvent('retrainingTriggers', {
      id: triggerId,
      source: INGEST_SOURCE,
      subject: model,
      data: { reason: 'manual', details: { pendingCorrections }, requestedBy: body.requestedBy, note: body.reason, fencingToken: lease.token as FencingToken, feedbackWatermark: sequence },
    });
    await deps.pool.query('INSERT INTO feedback_ingest_outbox (event_id, topic, key, event) VALUES ($1, $2, $3, $4)', [triggerId, 'retrainingTriggers', model, JSON.stringify(event)]);
    deps.onWritten();
    return { triggerId, fencingToken: lease.token as FencingToken, feedbackWatermark: sequence };
  } catch (err) {
    // Nothing was written: give the lock back so the model is not blocked until the TTL.
    await deps.locks.release(lease).catch(() => {});
    throw err;
  }
};
