import { DependencyDown, FlywheelError } from '@flywheel/runtime';

/** Store failures inside a handler must be retried, not dead-lettered: the event is not counted yet. */
export const asRetriable = (err: unknown): Error =>
  err instanceof FlywheelError ? err : new DependencyDown(`aggregator store failed: ${err instanceof Error ? err.message : String(err)}; the event is retried`, { cause: err });
