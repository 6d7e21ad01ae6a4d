import { outcomeOf, type EventOf } from '@flywheel/contracts';
import type { ReportHistory } from './ReportHistory.js';

/**
 * Handlers of the reports' own consumer group: every closed window (this service's drift-reports)
 * and every feedback verdict is kept for the weekly reports. Apart from the monitor's group, so
 * the drift analysis never waits on it; idempotent by event and feedback id (at-least-once).
 */
export const onReportEvents = (deps: { history: ReportHistory }) => ({
  driftReports: async (event: EventOf<'driftReports'>): Promise<void> => {
    await deps.history.recordWindow(event.id, event.subject, event.data);
  },
  feedback: async (event: EventOf<'feedback'>): Promise<void> => {
    const f = event.data;
    const correct = outcomeOf(f);
    if (correct === undefined && f.correctLabel === undefined) return; // says nothing a report shows
    await deps.history.recordFeedback({
      feedbackId: f.feedbackId, model: event.subject, modelVersion: f.modelVersion, predictedLabel: f.predictedLabel,
      correctLabel: f.kind === 'misclassification' ? f.correctLabel : undefined, correct, receivedAt: new Date(event.time),
    });
  },
});
