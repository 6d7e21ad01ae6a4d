import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientSource, FLYWHEEL_SOURCES, makeEvent, type DataOf } from '@flywheel/contracts';
import { onFeedback, reporterOf } from './onFeedback.js';
import type { OutcomeReport } from './PgExperimentStore.js';

const feedback = (source: string, extra: Partial<DataOf<'feedback'>> = {}) => makeEvent('feedback', {
  source, subject: 'tickets',
  data: { feedbackId: randomUUID() as never, predictionId: randomUUID() as never, text: 't', kind: 'thumbs_down', ...extra } as DataOf<'feedback'>,
});

describe('reporterOf', () => {
  it('believes the client and trust feedback-ingest stamped', () => {
    expect(reporterOf(feedback(FLYWHEEL_SOURCES.feedbackIngest, { client: 'reviewer' as never, clientTrust: 'trusted' }))).toEqual({ client: 'reviewer', trusted: true });
    expect(reporterOf(feedback(FLYWHEEL_SOURCES.feedbackIngest, { client: 'app' as never, clientTrust: 'standard' }))).toEqual({ client: 'app', trusted: false });
    expect(reporterOf(feedback(FLYWHEEL_SOURCES.feedbackIngest))).toEqual({ client: undefined, trusted: false });
  });

  it('takes an outside producer for the client its source names, never trusted, whatever the event claims', () => {
    const e = feedback(clientSource('mallory'));
    expect(reporterOf({ source: e.source, data: { ...e.data, client: 'app' as never, clientTrust: 'trusted' } })).toEqual({ client: 'mallory', trusted: false });
  });
});

describe('onFeedback', () => {
  it('records a report with its reporter, and ignores feedback that names no prediction', async () => {
    const seen: OutcomeReport[] = [];
    const handle = onFeedback({ outcomes: { recordOutcome: async (r) => { seen.push(r); } } });
    const e = feedback(clientSource('mallory'));
    await handle(e);
    await handle(feedback(FLYWHEEL_SOURCES.feedbackIngest, { predictionId: undefined }));
    expect(seen).toEqual([{ feedbackId: e.data.feedbackId, predictionId: e.data.predictionId, client: 'mallory', trusted: false, correct: false }]);
  });

  it('keeps the true label a correction or confirmation names (it judges a shadow answer to the same request)', async () => {
    const seen: OutcomeReport[] = [];
    const handle = onFeedback({ outcomes: { recordOutcome: async (r) => { seen.push(r); } } });
    await handle(feedback(FLYWHEEL_SOURCES.feedbackIngest, { kind: 'misclassification', predictedLabel: 'bug', correctLabel: 'billing' } as Partial<DataOf<'feedback'>>));
    await handle(feedback(FLYWHEEL_SOURCES.feedbackIngest, { kind: 'confirmation', predictedLabel: 'bug' } as Partial<DataOf<'feedback'>>));
    expect(seen.map((r) => [r.correct, r.trueLabel])).toEqual([[false, 'billing'], [true, 'bug']]);
  });
});
