import type { Logger } from '@flywheel/runtime';
import type { AggregatorMetrics } from './aggregatorMetrics.js';
import type { Ledger } from './ports.js';
import type { Counters } from './redisCounters.js';
import type { mirrorCounts } from './reportAssessment.js';

/** Rebuilds every model's Redis counters from the ledger; `ifLost` only when Redis lost its marker key (a flush or a new Redis). */
export const counterRebuild = (deps: { ledger: Pick<Ledger, 'allSnapshots'>; counters: Counters; mirror: ReturnType<typeof mirrorCounts>; metrics: AggregatorMetrics; logger: Logger }) => {
  const rebuild = async (): Promise<void> => {
    const all = await deps.ledger.allSnapshots();
    for (const s of all) await deps.mirror(s);
    await deps.counters.markBuilt();
    deps.metrics.rebuilds.inc();
    deps.logger.info({ models: all.length }, 'rebuilt Redis counters from the ledger');
  };
  return {
    rebuild,
    ifLost: async (): Promise<void> => {
      if (!(await deps.counters.isBuilt())) await rebuild();
    },
  };
};
