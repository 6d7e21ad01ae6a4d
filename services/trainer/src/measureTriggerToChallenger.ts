import type { Publisher } from '@flywheel/bus';
import { makeEvent, type ModelName, type ModelVersion } from '@flywheel/contracts';
import type { RetrainLeases } from '@flywheel/redis';
import type { PgRegistry, VersionRecord } from '@flywheel/registry';

/**
 * Fires a retraining trigger for `model` the way the aggregator does (takes the lease, publishes
 * with its fencing token) and waits until a new challenger is registered. For benches (the
 * serving engineer's bench:swap continues from the returned version to "answering requests").
 * A trainer must be running against the same bus, database and Redis prefix.
 */
export async function measureTriggerToChallenger(
  deps: { publisher: Publisher; leases: Pick<RetrainLeases, 'acquire'>; registry: Pick<PgRegistry, 'challenger'> },
  input: { model: ModelName; timeoutMs?: number; lockTtlMs?: number; feedbackWatermark?: number },
): Promise<{ ms: number; version: ModelVersion; challenger: VersionRecord }> {
  const before = (await deps.registry.challenger(input.model))?.version;
  const lease = await deps.leases.acquire(input.model, input.lockTtlMs ?? 600_000);
  if (!lease) throw new Error(`retraining lease of ${input.model} is held; wait for the running job or release it`);
  const t0 = performance.now();
  await deps.publisher.publish('retrainingTriggers', makeEvent('retrainingTriggers', {
    source: '/flywheel/bench', subject: input.model,
    data: { reason: 'manual', details: {}, requestedBy: 'bench', fencingToken: lease.token, ...(input.feedbackWatermark !== undefined ? { feedbackWatermark: input.feedbackWatermark } : {}) },
  }));
  const deadline = t0 + (input.timeoutMs ?? 300_000);
  for (;;) {
    const c = await deps.registry.challenger(input.model);
    if (c && c.version !== before) return { ms: performance.now() - t0, version: c.version, challenger: c };
    if (performance.now() > deadline) throw new Error(`no challenger for ${input.model} within ${input.timeoutMs ?? 300_000} ms; check training_jobs for the reason`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
