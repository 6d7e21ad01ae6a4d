import type { EventOf } from '@flywheel/contracts';
import type { Assessment } from './ledger.js';
import type { CounterSnapshot } from './redisCounters.js';

/** The aggregator's ledger as the handlers see it (PgLedger). */
export interface Ledger {
  /** Counts a feedback event once and assesses the rules; undefined for a duplicate. */
  record(e: EventOf<'feedback'>, now?: Date): Promise<Assessment | undefined>;
  /** Re-assesses a model with no new event (the schedule rule). */
  reassess(model: string, now?: Date): Promise<Assessment>;
  /** Another service's trigger: the feedback it covers goes into training; undefined when already recorded. */
  recordExternalTrigger(e: EventOf<'retrainingTriggers'>): Promise<Assessment | undefined>;
  modelsDueForSchedule(maxDaysFor: (model: string) => number): Promise<string[]>;
  allSnapshots(): Promise<{ model: string; snapshot: CounterSnapshot; accuracy: number | null }[]>;
}

/** The part of the outbox relay a writer needs: wake it after a commit. */
export interface RelayNudge {
  nudge(): void;
}
