/**
 * The one error family of Flywheel. `retriable` tells a caller whether trying again later can help:
 * the consume loop retries retriable errors without committing and dead-letters the rest.
 */
export abstract class FlywheelError extends Error {
  abstract readonly retriable: boolean;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A message or request that can never succeed as it is: fix the producer, do not retry. */
export class PoisonMessage extends FlywheelError {
  readonly retriable = false;
}

/** A store or broker is unreachable or failing: retry with backoff. */
export class DependencyDown extends FlywheelError {
  readonly retriable = true;
}

/** Configuration is missing or wrong: the process cannot start until an operator fixes it. */
export class ConfigError extends FlywheelError {
  readonly retriable = false;
}

/** A request conflicts with current state (e.g. an idempotency key reused with another body). */
export class Conflict extends FlywheelError {
  readonly retriable = false;
}

/** A thing the caller named does not exist. */
export class NotFound extends FlywheelError {
  readonly retriable = false;
}

/** A caller without valid credentials (401) or with credentials that do not allow this (403). */
export class Unauthorized extends FlywheelError {
  readonly retriable = false;
  constructor(message: string, readonly status: 401 | 403 = 401) {
    super(message);
  }
}

/** Whether an unknown thrown value is worth retrying. Unknown errors count as retriable: losing work is worse than a retry. */
export const isRetriable = (err: unknown): boolean => (err instanceof FlywheelError ? err.retriable : true);
