import type { Bus, RunningConsumer } from '@flywheel/bus';
import type { EventOf, JobId } from '@flywheel/contracts';
import type { Job } from './PgJobStore.js';
import { publishChallenger, publishStatus, retrainLockKey, runJob, type JobDeps } from './runJob.js';

export interface TrainerDeps extends JobDeps {
  bus: Pick<Bus, 'consume'>;
  /** consumer group of retraining-triggers (default "trainer") */
  group?: string;
  /** a running job whose heartbeat is older than this is left over from a dead trainer */
  staleAfterMs: number;
  /** unregistered uploads older than this are removed by the periodic sweep */
  orphanMinAgeMs: number;
  /** how often the runner looks for queued jobs when not nudged (default 1000) */
  pollMs?: number;
  /** how often stale jobs are reaped, orphans swept and the registry gauge refreshed (default 30000) */
  maintenanceMs?: number;
}

/** A running trainer: consumes triggers, runs queued jobs one at a time, reaps jobs of dead trainers. */
export interface Trainer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Claims and runs one queued job; false when none was queued. */
  runOnce(): Promise<boolean>;
  /** Fails jobs left running by a dead trainer, removes their unregistered uploads, releases their locks. */
  recover(): Promise<number>;
  refreshRegistryGauge(): Promise<void>;
}

/**
 * The trainer. The trigger handler only records the job (queued) and returns, so Kafka heartbeats
 * never wait on training; a runner loop claims queued jobs from PostgreSQL, which also survives
 * restarts (a queued job is picked up by the next trainer).
 */
export const createTrainer = (deps: TrainerDeps): Trainer => {
  const log = deps.logger.child({ component: 'trainer' });
  let consumer: RunningConsumer | undefined;
  let running = false;
  let wake: (() => void) | undefined;
  let loop: Promise<void> | undefined;

  const onTrigger = async (event: EventOf<'retrainingTriggers'>): Promise<void> => {
    const outcome = await deps.jobs.enqueue(event.id, event.subject, event.data);
    const job = { id: event.id as string as JobId, model: event.subject, fencingToken: event.data.fencingToken };
    switch (outcome.kind) {
      case 'duplicate':
        return;
      case 'stale': {
        const reason = `stale fencing token ${event.data.fencingToken}: a trigger with token ${outcome.highest} was already accepted for ${event.subject}`;
        log.warn({ model: event.subject, token: event.data.fencingToken, highest: outcome.highest }, 'refused a stale retraining trigger');
        deps.metrics.jobs.inc({ model: event.subject, outcome: 'failed' });
        await publishStatus(deps, job, 'failed', 0, { reason });
        return;
      }
      case 'queued':
        await publishStatus(deps, job, 'queued', 0, { stage: 'queued' });
        wake?.();
        return;
    }
  };

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
      await deps.jobs.finish(job.id, 'succeeded', { reason: 'completed before a trainer restart', version: job.version, metrics: registered.metrics });
      await publishChallenger(deps, job.model, { version: registered.version, artifact: registered.artifact, metrics: registered.metrics });
      await publishStatus(deps, job, 'succeeded', 1, { version: job.version });
    } else {
      if (job.version !== undefined) await deps.artifacts.removeVersion(job.model, job.version);
      await deps.jobs.finish(job.id, 'failed', { reason: 'trainer restarted' });
      await publishStatus(deps, job, 'failed', 0, { reason: 'trainer restarted' });
      deps.metrics.jobs.inc({ model: job.model, outcome: 'failed' });
    }
    await deps.locks.release({ key: retrainLockKey(job.model), token: job.fencingToken });
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

  // Each step on its own: one failing (say, on one model's artifacts) must not skip the others.
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

  const runLoop = async (): Promise<void> => {
    let lastMaintenance = Date.now();
    while (running) {
      try {
        if (Date.now() - lastMaintenance > (deps.maintenanceMs ?? 30_000)) {
          lastMaintenance = Date.now();
          await maintenance();
        }
        if (await runOnce()) continue;
      } catch (err) {
        log.error({ err }, 'job runner iteration failed; retrying');
      }
      if (!running) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deps.pollMs ?? 1_000);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  };

  return {
    runOnce,
    recover,
    refreshRegistryGauge,
    async start() {
      await maintenance();
      consumer = await deps.bus.consume(deps.group ?? 'trainer', { retrainingTriggers: onTrigger });
      running = true;
      loop = runLoop();
    },
    async stop() {
      running = false;
      wake?.();
      await consumer?.stop();
      await loop;
    },
  };
};
