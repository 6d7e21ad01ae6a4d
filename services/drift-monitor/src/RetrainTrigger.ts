import { makeEvent } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool } from '@flywheel/postgres';
import type { RetrainLeases } from '@flywheel/redis';
import type { RetrainTriggers, TriggerOutcome } from './ports.js';

export type { TriggerOutcome } from './ports.js';

/**
 * Asks for retraining on drift: skips while the model's cooldown runs (its last trigger in
 * `drift_triggers` is younger than cooldownMs), takes the shared retraining lease (so it never
 * races the aggregator or a manual trigger), then records the trigger and enqueues the
 * `retraining-triggers` event carrying the lease's fencing token in one transaction; the shared
 * outbox relay publishes it. The trainer releases the lease.
 */
export class RetrainTrigger implements RetrainTriggers {
  constructor(private readonly deps: {
    pool: Pool; leases: Pick<RetrainLeases, 'acquire' | 'release'>; relay: { nudge(): void }; lockTtlMs: number; cooldownMs: number; source: string;
  }) {}

  async fire(model: string, details: Record<string, number | string | boolean>, note: string): Promise<TriggerOutcome> {
    if (await this.inCooldown(model)) return { triggered: false, why: 'cooldown' };
    const lease = await this.deps.leases.acquire(model, this.deps.lockTtlMs);
    if (!lease) return { triggered: false, why: 'locked' };
    const event = makeEvent('retrainingTriggers', {
      source: this.deps.source, subject: model,
      data: { reason: 'drift', details, requestedBy: 'drift-monitor', note: note.slice(0, 2000), fencingToken: lease.token },
    });
    try {
      await withTransaction(this.deps.pool, async (tx) => {
        await tx.query(
          'INSERT INTO drift_triggers (model, model_version, fencing_token, event_id, details) VALUES ($1, $2, $3, $4, $5::jsonb)',
          [model, String(details.modelVersion ?? ''), lease.token, event.id, JSON.stringify(details)],
        );
        await enqueueInTx(tx, { topic: 'retrainingTriggers', event });
      });
    } catch (err) {
      // Nothing was recorded: give the lease back so the model is not blocked until the TTL.
      await this.deps.leases.release(lease).catch(() => {});
      throw err;
    }
    this.deps.relay.nudge();
    return { triggered: true, fencingToken: lease.token };
  }

  private async inCooldown(model: string): Promise<boolean> {
    const r = await this.deps.pool.query(
      `SELECT 1 FROM drift_triggers WHERE model = $1 AND triggered_at > now() - make_interval(secs => $2::double precision / 1000) LIMIT 1`,
      [model, this.deps.cooldownMs],
    );
    return (r.rowCount ?? 0) > 0;
  }
}
