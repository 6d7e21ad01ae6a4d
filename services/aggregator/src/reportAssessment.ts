import type { RetrainRules } from '@flywheel/contracts';
import { failpoint, type Logger } from '@flywheel/runtime';
import type { AggregatorMetrics } from './aggregatorMetrics.js';
import type { Assessment } from './ledger.js';
import type { RelayNudge } from './ports.js';
import type { Counters } from './redisCounters.js';

export interface ReportDeps {
  counters: Counters;
  metrics: AggregatorMetrics;
  rulesFor: (model: string) => RetrainRules;
  relay: RelayNudge;
  logger: Logger;
}

/** Mirrors a model's counts to the gauges and to Redis (a cache of the ledger: a failed write is repaired by the next event or rebuild). */
export const mirrorCounts = (deps: Omit<ReportDeps, 'relay'>) => async (a: Pick<Assessment, 'model' | 'snapshot' | 'accuracy'>): Promise<void> => {
  deps.metrics.pending.set({ model: a.model }, a.snapshot.pendingCorrections);
  // Beside the count so a dashboard can draw each model's distance to its trigger.
  deps.metrics.threshold.set({ model: a.model }, deps.rulesFor(a.model).correctionThreshold);
  if (a.accuracy !== null) deps.metrics.accuracy.set({ model: a.model }, a.accuracy);
  await deps.counters.write(a.model, a.snapshot).catch((err: unknown) => deps.logger.warn({ err, model: a.model }, 'could not write counters to Redis; they will be rebuilt'));
};

/** What follows a committed assessment: counters, the suppressed note, and waking the relay for a fired trigger. */
export const reportAssessment = (deps: ReportDeps) => {
  const mirror = mirrorCounts(deps);
  return async (a: Assessment | undefined): Promise<void> => {
    if (!a) return;
    if (a.fired) {
      failpoint('aggregator.after-ledger-write'); // trigger and outbox row committed, not yet published: the relay sends it after a restart
      deps.relay.nudge();
      deps.metrics.triggers.inc({ model: a.model, reason: a.fired.firing.reason });
      deps.logger.info({ model: a.model, reason: a.fired.firing.reason, details: a.fired.firing.details, token: a.fired.event.data.fencingToken }, 'retraining triggered');
    }
    if (a.suppressed?.firstForHolder) {
      deps.metrics.suppressed.inc({ model: a.model });
      deps.logger.info({ model: a.model, reason: a.suppressed.firing.reason, holderToken: a.suppressed.holderToken }, 'rule fired while the model is training; recorded, not published');
    }
    await mirror(a);
  };
};
export type Report = ReturnType<typeof reportAssessment>;
