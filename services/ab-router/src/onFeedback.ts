import { CLIENT_SOURCE_PREFIX, outcomeOf, type EventOf } from '@flywheel/contracts';
import type { Outcomes } from './ports.js';

/**
 * Who reported a feedback event, as far as the ab-router can believe it. An outside producer is the
 * client its source names (`/clients/<name>`), always standard: it cannot vouch for trust or for
 * another client. Otherwise the event comes from feedback-ingest, which authenticated the client and
 * stamped its name and trust (an event without a client is anonymous and standard).
 */
export const reporterOf = (event: Pick<EventOf<'feedback'>, 'source' | 'data'>): { client: string | undefined; trusted: boolean } =>
  event.source.startsWith(CLIENT_SOURCE_PREFIX)
    ? { client: event.source.slice(CLIENT_SOURCE_PREFIX.length), trusted: false }
    : { client: event.data.client, trusted: event.data.clientTrust === 'trusted' };

/**
 * Joins feedback that says whether a prediction was right with that prediction (in either arrival
 * order). Every report is kept; the store counts only the first from the client the prediction went
 * to or from a trusted client, so nobody else can vote on another client's answers.
 */
export const onFeedback = (deps: { outcomes: Pick<Outcomes, 'recordOutcome'> }) =>
  async (event: EventOf<'feedback'>): Promise<void> => {
    const f = event.data;
    const correct = outcomeOf(f);
    if (f.predictionId === undefined || correct === undefined) return;
    await deps.outcomes.recordOutcome({ feedbackId: f.feedbackId, predictionId: f.predictionId, ...reporterOf(event), correct });
  };
