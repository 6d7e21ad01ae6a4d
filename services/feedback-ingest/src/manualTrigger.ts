import { randomUUID } from 'node:crypto';
import { makeEvent, type FencingToken } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import type { RetrainLeases } from '@flywheel/redis';
import { Conflict } from '@flywheel/runtime';
import { INGEST_SOURCE } from './feedbackStore.js';
import type { ManualRetrain } from './httpSchemas.js';
import type { RelayNudge } from './ports.js';

export type ManualTrigger = (model: string, body: ManualRetrain) => Promise<{ triggerId: string; fencingToken: FencingToken; feedbackWatermark: number }>;

/**
 * An operator's retraining request: takes the model's retraining lease (so no rule fires while it
 * trains) and writes the `retraining-triggers` event to the shared outbox, in the transaction that
 * reads the feedback watermark it carries; the relay publishes it. While the lease is held the
 * answer is 409 naming the holder's token.
 */
export const createManualTrigger = (deps: {
  pool: Pool;
  leases: Pick<RetrainLeases, 'acquire' | 'holder' | 'release'>;
  lockTtlMs: number;
  latestSequence: (model: string, db: PoolClient) => Promise<{ sequence: number; pendingCorrections: number }>;
  relay: RelayNudge;
}): ManualTrigger => async (model, body) => {
  const lease = await deps.leases.acquire(model, deps.lockTtlMs);
  if (!lease) {
    const holder = await deps.leases.holder(model);
    throw new Conflict(`model ${model} is already being retrained (lease held with fencing token ${holder ?? 'unknown'}); wait for it to finish`, { reason: 'retraining_in_progress', details: { holderToken: holder ?? null } });
  }
  try {
    const triggerId = randomUUID();
    const sequence = await withTransaction(deps.pool, async (tx) => {
      const { sequence, pendingCorrections } = await deps.latestSequence(model, tx);
      const event = makeEvent('retrainingTriggers', {
        id: triggerId,
        source: INGEST_SOURCE,
        subject: model,
        data: { reason: 'manual', details: { pendingCorrections }, requestedBy: body.requestedBy, note: body.reason, fencingToken: lease.token, feedbackWatermark: sequence },
      });
      await enqueueInTx(tx, { topic: 'retrainingTriggers', event });
      return sequence;
    });
    deps.relay.nudge();
    return { triggerId, fencingToken: lease.token, feedbackWatermark: sequence };
  } catch (err) {
    // Nothing was written: give the lease back so the model is not blocked until the TTL.
    await deps.leases.release(lease).catch(() => {});
    throw err;
  }
};
