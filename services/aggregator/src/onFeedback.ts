import type { Handler } from '@flywheel/bus';
import type { AggregatorMetrics } from './aggregatorMetrics.js';
import { asRetriable } from './asRetriable.js';
import type { Ledger } from './ports.js';
import type { Report } from './reportAssessment.js';

/** feedback-events: count each event once in the ledger; the rules decide in the same transaction. */
export const onFeedback = (deps: { ledger: Pick<Ledger, 'record'>; report: Report; metrics: AggregatorMetrics }): Handler<'feedback'> => async (e) => {
  const a = await deps.ledger.record(e).catch((err: unknown) => { throw asRetriable(err); });
  deps.metrics.events.inc({ result: a ? 'new' : 'duplicate' });
  await deps.report(a);
};
