import type { Logger } from '@flywheel/runtime';
import { Counter, type Registry } from 'prom-client';

/** A periodic job: never overlaps itself, logs and counts its failures, and stops after the run in flight. */
export interface Schedule {
  readonly name: string;
  start(): void;
  /** Runs the job now (unless a run is in flight, which is awaited instead). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

const failuresOf = (metrics: Registry): Counter<'schedule'> =>
  (metrics.getSingleMetric('flywheel_schedule_failures_total') as Counter<'schedule'> | undefined) ??
  new Counter({ name: 'flywheel_schedule_failures_total', help: 'Scheduled jobs that threw (retried at the next period)', labelNames: ['schedule'], registers: [metrics] });

/**
 * The one timer helper every service uses for sweeps, evaluations and maintenance. A failed run is
 * logged and counted, never fatal: the next period tries again. `everyMs <= 0` disables the timer
 * (the job still runs on demand with runNow()).
 */
export const createSchedule = (o: { name: string; everyMs: number; run: () => Promise<unknown>; logger: Logger; metrics: Registry }): Schedule => {
  const failures = failuresOf(o.metrics);
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  const once = (): Promise<void> => {
    inFlight ??= o.run().then(
      () => undefined,
      (err: unknown) => {
        failures.inc({ schedule: o.name });
        o.logger.error({ err, schedule: o.name }, 'scheduled job failed; it runs again at the next period');
      },
    ).finally(() => { inFlight = undefined; });
    return inFlight;
  };
  return {
    name: o.name,
    start: () => {
      if (o.everyMs <= 0 || timer) return;
      timer = setInterval(() => void once(), o.everyMs);
      timer.unref();
    },
    runNow: once,
    stop: async () => {
      if (timer) clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
};
