import type { RetrainRules } from '@flywheel/contracts';
import type { Ledger } from './ports.js';
import type { Report } from './reportAssessment.js';

/** The schedule rule: re-assesses every model whose pending feedback has waited long enough. */
export const checkSchedule = (deps: { ledger: Pick<Ledger, 'modelsDueForSchedule' | 'reassess'>; rulesFor: (model: string) => RetrainRules; report: Report }) => async (): Promise<void> => {
  for (const model of await deps.ledger.modelsDueForSchedule((m) => deps.rulesFor(m).maxDaysBetweenTrainings)) {
    await deps.report(await deps.ledger.reassess(model));
  }
};
