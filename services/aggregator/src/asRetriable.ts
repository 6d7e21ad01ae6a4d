import { classifyError, DependencyDown } from '@flywheel/runtime';

/**
 * What a store failure inside a handler means for the event. An outage is retried (the event is not
 * counted yet, the offset must not move); data the database refuses (SQLSTATE class 22/23) is a
 * PoisonMessage and is dead-lettered with its reason: retrying it would stall the partition for good.
 */
export const asRetriable = (err: unknown): Error =>
  classifyError(err) ?? new DependencyDown(`aggregator store failed: ${err instanceof Error ? err.message : String(err)}; the event is retried`, { cause: err });
