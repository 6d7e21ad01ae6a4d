import type { ReportData } from '../renderReport.js';

/** A small but complete report (two versions, drift windows, a timeline) for rendering tests. */
export const fixtureReport = (): ReportData => ({
  title: 'Flywheel: the loop on one machine',
  model: 'demo-fixture',
  generatedAt: '2025-01-01T00:00:00.000Z',
  newLabel: 'Watches',
  stages: [
    { stage: 'bootstrap base model', seconds: 12.5, accuracyAfter: 0.95, oldAfter: 0.96, note: 'demo-fixture@1.0.0' },
    { stage: 'A/B test → challenger promoted', seconds: 20.1, accuracyBefore: 0.62, accuracyAfter: 0.91, oldBefore: 0.96, oldAfter: 0.95, note: '"Watches" 0.0% → 92.0%' },
    { stage: 'bad version → automatic rollback', seconds: 6.2, accuracyBefore: 0.05, accuracyAfter: 0.9, note: '2.0.0 rolled back to 1.1.0' },
  ],
  accuracy: [
    { name: '1.0.0 (champion)', points: [{ x: 2.5, y: 0.97 }, { x: 7.5, y: 0.96 }, { x: 12.5, y: 0.55 }, { x: 17.5, y: 0.6 }] },
    { name: '1.1.0 (challenger)', points: [{ x: 17.5, y: 0.9 }, { x: 22.5, y: 0.92 }] },
    { name: '2.0.0 (champion)', points: [{ x: 32.5, y: 0.06 }] },
  ],
  drift: [
    { t: 5_000, version: '1.0.0', level: 'none', psi: 0.03, accuracyDrop: 0.01, triggeredRetraining: false },
    { t: 12_000, version: '1.0.0', level: 'significant', psi: 0.41, accuracyDrop: 0.35, triggeredRetraining: true },
    { t: 25_000, version: '1.1.0', level: 'none', psi: 0.05, accuracyDrop: undefined, triggeredRetraining: false },
  ],
  timeline: [
    { t: 0, kind: 'stage', title: 'bootstrap base model' },
    { t: 12_100, kind: 'trigger', title: 'retraining triggered (drift) by drift-monitor', detail: 'psi=0.41' },
    { t: 15_000, kind: 'model-update', title: 'challenger registered 1.1.0' },
    { t: 25_000, kind: 'model-update', title: 'promoted 1.1.0' },
    { t: 36_000, kind: 'model-update', title: 'rolled back 1.1.0', detail: 'accuracy dropped' },
  ],
  headline: [{ label: 'first misclassification → challenger promoted', value: '30.2 s' }],
});
