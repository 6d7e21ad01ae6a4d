import type { Handler } from '@flywheel/bus';
import { asRetriable } from './asRetriable.js';
import { AGGREGATOR_SOURCE } from './ledger.js';
import type { Ledger } from './ports.js';
import type { Report } from './reportAssessment.js';

/** retraining-triggers from other services (manual, drift): the feedback they cover is trained, the count starts again. */
export const onRetrainingTriggers = (deps: { ledger: Pick<Ledger, 'recordExternalTrigger'>; report: Report }): Handler<'retrainingTriggers'> => async (e) => {
  if (e.source === AGGREGATOR_SOURCE) return;
  const a = await deps.ledger.recordExternalTrigger(e).catch((err: unknown) => { throw asRetriable(err); });
  await deps.report(a);
};
