import type { OwnerLiveness } from './ownerLiveness.js';
import type { Job } from './PgJobStore.js';
import { challengerEvent, statusEvent } from './announcements.js';
import { runJob, uploadAttempt, type JobDeps, type RegistryPort } from './runJob.js';

export interface JobRunnerDeps extends JobDeps {
  /** a running job whose heartbeat is older than this is left over from a dead trainer */
  staleAfterMs: number;
  /** unregistered uploads older than this are removed by the sweep */
  orphanMinAgeMs: number;
  /** whether a job's owner is still alive (its owner lease): recovery never takes over a live owner's job */
  owners: OwnerLiveness;
}

/** What main.ts schedules: one job at a time, and the maintenance that cleans up after dead trainers. */
export interface JobRunner {
  /** Claims and runs one queued job; false when none was queued. */
  runOnce(): Promise<boolean>;
  /** Takes over jobs left running by a dead trainer (stale heartbeat, owner lease gone), fails them, removes their unregistered uploads, releases their leases. */
  recover(): Promise<number>;
  /** recover, the orphan sweep and the registry gauge, each on its own: one failing does not skip the others. */
  maintenance(): Promise<void>;
  refreshRegistryGauge(): Promise<void>;
}

/**
 * The trainer's work, without timers or consumers (main.ts schedules it with svc.every). Jobs live
 * in PostgreSQL, so a queued job survives restarts and is picked up by the next trainer.
 */
export const createJobRunner = (deps: JobRunnerDeps): JobRunner => {
  const log = deps.logger.child({ component: 'job-runner' });

  // The jobs this process is running now: its own stale-looking jobs outside this set are left over.
  const running = new Set<string>();
  const runOnce = async (): Promise<boolean> => {
    const job = await deps.jobs.claimNext();
    if (!job) return false;
    running.add(job.id);
    try {
      await runJob(deps, job);
    } finally {
      running.delete(job.id);
    }
    return true;
  };

  /**
   * A job is left over when its heartbeat is stale AND its owner no longer holds its owner lease
   * (the process or its connection is gone), or its owner is this process and no longer runs it (it
   * could not record the end); a live owner whose heartbeat lags (a long inline training step) is
   * left alone. The takeover is a compare-and-set on the epoch, so
   * from then on the old owner's writes are refused; its upload folder is removed while holding
   * the job's row.
   */
  const recoverOne = async (stale: Job): Promise<boolean> => {
    if (stale.owner === deps.jobs.owner && running.has(stale.id)) return false; // this process runs it; its heartbeat merely lags
    if (stale.owner !== undefined && stale.owner !== deps.jobs.owner && (await deps.owners.isAlive(stale.owner))) {
      // A registered version is done work whose bookkeeping failed (the owner could not record it): finishing it is safe whoever does it.
      const done = stale.version !== undefined && (await deps.registry.hasVersion(stale.model, stale.version));
      if (!done) {
        log.warn({ job: stale.id, model: stale.model, owner: stale.owner, epoch: stale.epoch }, 'job heartbeat is stale but its owner holds its owner lease (alive); left alone');
        return false;
      }
    }
    const job = await deps.jobs.takeOver(stale, deps.staleAfterMs);
    if (!job) return false; // its owner wrote meanwhile, or another trainer took it over first
    let registered: Awaited<ReturnType<RegistryPort['version']>>;
    await deps.jobs.finishAfter(job, async () => {
      // Registered before the trainer died: the work is done, only the bookkeeping is missing.
      registered = job.version !== undefined ? await deps.registry.version(job.model, job.version) : undefined;
      // The partial upload goes first: the job stays running (and is retried) until it is gone.
      // Only the dead owner's upload folder (the epoch it uploaded under): never another attempt's files.
      if (!registered && job.version !== undefined) await deps.artifacts.removeVersion(job.model, job.version, uploadAttempt(stale));
    }, () => registered && job.version
      ? {
          state: 'succeeded', patch: { reason: 'completed before a trainer restart', version: job.version, metrics: registered.metrics },
          announce: [challengerEvent(job.model, { version: registered.version, artifact: registered.artifact, metrics: registered.metrics }), statusEvent(job, 'succeeded', 1, { version: job.version })],
        }
      : { state: 'failed', patch: { reason: 'trainer restarted' }, announce: [statusEvent(job, 'failed', 0, { reason: 'trainer restarted' })] });
    if (!registered) deps.metrics.jobs.inc({ model: job.model, outcome: 'failed' });
    await deps.leases.release({ model: job.model, token: job.trigger.fencingToken });
    log.warn({ job: job.id, model: job.model, version: job.version, registered: Boolean(registered), from: stale.owner, epoch: job.epoch }, 'recovered a job left running by a dead trainer');
    return true;
  };

  /** Recovers each stale job on its own: one that cannot be recovered (e.g. its model's upload cannot be removed) stays stale for the next pass. */
  const recover = async (): Promise<number> => {
    const stale = await deps.jobs.staleRunning(deps.staleAfterMs);
    let recovered = 0;
    for (const job of stale) {
      try {
        if (await recoverOne(job)) recovered++;
      } catch (err) {
        log.error({ err, job: job.id, model: job.model, version: job.version }, 'could not recover a job left running by a dead trainer; the next maintenance retries it, other jobs go on');
      }
    }
    return recovered;
  };

  const refreshRegistryGauge = async (): Promise<void> => {
    const counts = await deps.registry.countByStatus();
    deps.metrics.registryVersions.reset();
    for (const c of counts) deps.metrics.registryVersions.set({ model: c.model, status: c.status }, c.count);
  };

  const maintenance = async (): Promise<void> => {
    const steps: [string, () => Promise<unknown>][] = [
      ['recovering stale jobs', recover],
      ['sweeping unregistered uploads', () => deps.artifacts.sweepOrphans((m, v) => deps.registry.hasVersion(m, v), { olderThanMs: deps.orphanMinAgeMs })],
      ['refreshing the registry gauge', refreshRegistryGauge],
    ];
    for (const [what, step] of steps) {
      await step().catch((err: unknown) => log.error({ err }, `${what} failed; the next maintenance retries it`));
    }
  };

  return { runOnce, recover, maintenance, refreshRegistryGauge };
};
