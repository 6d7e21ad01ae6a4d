import type { EventOf } from '@flywheel/contracts';

/** Why a significant drift did or did not become a trigger. */
export type TriggerOutcome = { triggered: true; fencingToken: number } | { triggered: false; why: 'cooldown' | 'locked' };

/** Asks for a model's retraining on significant drift (RetrainTrigger: lease, outbox, cooldown). */
export interface RetrainTriggers {
  fire(model: string, details: Record<string, number | string | boolean>, note: string): Promise<TriggerOutcome>;
}

/** Where drift reports go (the bus's publisher). */
export interface ReportPublisher {
  publish(topic: 'driftReports', event: EventOf<'driftReports'>): Promise<void>;
}
