import type { Job } from './PgJobStore.js';
import { challengerEvent, statusEvent } from './announcements.js';
import { runJob, type JobDeps } from './runJob.js';

export interface JobRunnerDeps extends JobDeps {
  /** a running job whose heartbeat is older than this is left over from a dead trainer */
  staleAfterMs: number;
  /** unregistered uploads older than this are removed by the sweep */
  orphanMinAgeMs: number;
}

/** What main.ts schedules: one job at a time, and the maintenance that cleans up after dead trainers. */
export interface JobRunner {
  /** Claims and runs one queued job; false when none was queued. */
  runOnce(): Promise<boolean>;
  /** Fails jobs left running by a dead trainer, removes their unregistered uploads, releases their leases. */
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

  const runOnce = async (): Promise<boolean> => {
    const job = await deps.jobs.claimNext();
    if (!job) return false;
    await runJob(deps, job);
    return true;
  };

  const recoverOne = async (job: Job): Promise<void> => {
    // Registered before the trainer died: the work is done, only the bookkeeping is missing.
    const registered = job.version !== undefined ? await deps.registry.version(job.model, job.version) : undefined;
    if (registered && job.version) {
      await deps.jobs.finish(job.id, 'succeeded', { reason: 'completed before a trainer restart', version: job.version, metrics: registered.metrics }, [
        challengerEvent(job.model, { version: registered.version, artifact: registered.artifact, metrics: registered.metrics }),
        statusEvent(job, 'succeeded', 1, { version: job.version }),
      ]);
    } else {
      // The partial upload goes first: the job stays stale (and is retried) until it is gone.
      if (job.version !== undefined) await deps.artifacts.removeVersion(job.model, job.version);
      await deps.jobs.finish(job.id, 'failed', { reason: 'trainer restarted' }, [statusEvent(job, 'failed', 0, { reason: 'trainer restarted' })]);
      deps.metrics.jobs.inc({ model: job.model, outcome: 'failed' });
    }
    await deps.leases.release({ model: job.model, token: job.trigger.fencingToken });
    log.warn({ job: job.id, model: job.model, version: job.version, registered: Boolean(registered) }, 'recovered a job left running by a dead trainer');
  };

  /** Recovers each stale job on its own: one that cannot be recovered (e.g. its model's upload cannot be removed) stays stale for the next pass. */
  const recover = async (): Promise<number> => {
    const stale = await deps.jobs.staleRunning(deps.staleAfterMs);
    let recovered = 0;
    for (const job of stale) {
      try {
        await recoverOne(job);
        recovered++;
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
