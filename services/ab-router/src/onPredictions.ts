import type { EventOf } from '@flywheel/contracts';
import type { GuardedChampions, Outcomes } from './ports.js';

/** Records each prediction once, with its experiment when serving made it under the running experiment's routing. */
export const onPredictions = (deps: { outcomes: Outcomes; champions: GuardedChampions }) =>
  async (event: EventOf<'predictions'>): Promise<void> => {
    const p = event.data;
    const running = await deps.outcomes.running(event.subject);
    // Only predictions serving made under this experiment's routing table (it stamps experimentId):
    // champion-only answers from before serving applied the table would count as champion
    // assignments and halt the test on a false sample-ratio mismatch (seen in test/e2e faults).
    const inExperiment = running && p.experimentId === running.id
      && (p.modelVersion === (p.variant === 'champion' ? running.championVersion : running.challengerVersion));
    // A shadow answer counts for the running shadow test only when it is that test's challenger
    // scoring a request the test's champion answered.
    const inShadowTest = running?.phase === 'shadow' && p.shadow !== undefined && p.shadow.experimentId === running.id
      && p.shadow.modelVersion === running.challengerVersion && p.modelVersion === running.championVersion;
    await deps.outcomes.recordPrediction({
      predictionId: p.predictionId, model: event.subject, modelVersion: p.modelVersion, variant: p.variant,
      subjectId: p.subjectId, experimentId: inExperiment ? running.id : undefined, client: p.client, predictedAt: new Date(event.time),
      label: p.label, shadow: inShadowTest && p.shadow ? { experimentId: running.id, version: p.shadow.modelVersion, label: p.shadow.label } : undefined,
    });
    // A model the router has not guarded yet: the champion that answers is the one to guard.
    if (p.variant === 'champion' && (await deps.champions.current(event.subject)) === undefined) await deps.champions.adopt(event.subject, p.modelVersion);
  };
