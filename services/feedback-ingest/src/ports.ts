import type { EventOf } from '@flywheel/contracts';

/** The projections feedback-ingest keeps from other services' events (PgTrainingProjection). */
export interface Projection {
  onPrediction(e: EventOf<'predictions'>): Promise<void>;
  onTrigger(e: EventOf<'retrainingTriggers'>): Promise<void>;
  onTrainingStatus(e: EventOf<'trainingStatus'>): Promise<void>;
  onModelUpdate(e: EventOf<'modelUpdates'>): Promise<void>;
}

/** The part of the outbox relay a writer needs: wake it after a commit. */
export interface RelayNudge {
  nudge(): void;
}
