/**
 * The one error family of Flywheel: a closed set of kinds, each with a fixed retry decision and
 * HTTP status. Cores throw these; the edges map them (the consume loop retries retriable kinds
 * without committing and dead-letters the rest; the HTTP layer answers the kind's status). A value
 * that is not a FlywheelError is classified by classifyError (PostgreSQL SQLSTATE, socket errors).
 */
export const ERROR_KINDS = {
  /** The input can never succeed as it is (a request field, a file): fix it. */
  invalid: { retriable: false, status: 400, code: 'invalid_request' },
  /** A message that can never be processed as it is: dead-letter it, fix the producer. */
  poison: { retriable: false, status: 400, code: 'invalid_request' },
  /** A store, broker or peer is unreachable or overloaded: retry with backoff. */
  unavailable: { retriable: true, status: 503, code: 'unavailable' },
  /** Too many requests from one client: retry after the stated time. */
  rate_limited: { retriable: true, status: 429, code: 'rate_limited' },
  /** The process is misconfigured: an operator fixes the setting. */
  config: { retriable: false, status: 500, code: 'internal' },
  /** The request conflicts with current state. */
  conflict: { retriable: false, status: 409, code: 'conflict' },
  not_found: { retriable: false, status: 404, code: 'not_found' },
  unauthorized: { retriable: false, status: 401, code: 'unauthorized' },
  forbidden: { retriable: false, status: 403, code: 'forbidden' },
  /** Stored bytes are missing or do not match their hash: restore or re-create them. */
  corrupt: { retriable: false, status: 500, code: 'corrupt_artifact' },
  /** An operation ran and failed for a stated reason (a training job, a gate): retrying the same input fails the same way. */
  failed: { retriable: false, status: 422, code: 'failed' },
} as const satisfies Record<string, { retriable: boolean; status: number; code: string }>;
export type ErrorKind = keyof typeof ERROR_KINDS;

export interface FlywheelErrorOptions extends ErrorOptions {
  /** A specific machine-readable reason (`model_unavailable`, `retraining_in_progress`); the API's error code. */
  reason?: string;
  /** Structured details for the caller (the API's `error.details`). */
  details?: unknown;
}

export abstract class FlywheelError extends Error {
  abstract readonly kind: ErrorKind;
  readonly reason: string | undefined;
  readonly details: unknown;
  constructor(message: string, options: FlywheelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.reason = options.reason;
    this.details = options.details;
  }

  /** Whether trying again later can help: decided by the kind, never by accident. */
  get retriable(): boolean {
    return ERROR_KINDS[this.kind].retriable;
  }
}

export class Invalid extends FlywheelError { readonly kind = 'invalid' as const; }
export class PoisonMessage extends FlywheelError { readonly kind = 'poison' as const; }
export class DependencyDown extends FlywheelError { readonly kind = 'unavailable' as const; }
export class RateLimited extends FlywheelError { readonly kind = 'rate_limited' as const; }
export class ConfigError extends FlywheelError { readonly kind = 'config' as const; }
export class Conflict extends FlywheelError { readonly kind = 'conflict' as const; }
export class NotFound extends FlywheelError { readonly kind = 'not_found' as const; }
export class CorruptData extends FlywheelError { readonly kind = 'corrupt' as const; }
export class Failed extends FlywheelError { readonly kind = 'failed' as const; }

/** A caller without valid credentials (401) or with credentials that do not allow this (403). */
export class Unauthorized extends FlywheelError {
  readonly kind: 'unauthorized' | 'forbidden';
  constructor(message: string, readonly status: 401 | 403 = 401, options?: FlywheelErrorOptions) {
    super(message, options);
    this.kind = status === 401 ? 'unauthorized' : 'forbidden';
  }
}
