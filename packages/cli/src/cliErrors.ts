import { ConfigError, FlywheelError } from '@flywheel/runtime';

/** The command line itself is wrong (missing argument, bad flag value): fix it and run again. */
export class UsageError extends FlywheelError {
  readonly kind = 'invalid' as const;
}

/** A service refused the request (4xx); the message carries the service's own explanation. */
export class ServiceRefused extends FlywheelError {
  readonly kind = 'failed' as const;
  constructor(readonly service: string, readonly status: number, readonly code: string | undefined, message: string) {
    super(message);
  }
}

/**
 * The CLI's exit status: 2 for usage and configuration errors, 1 for a domain failure (unknown
 * model, refused by a service, a conflict), 3 for something that may pass on retry (a store or
 * service down, an unexpected error).
 */
export const exitCodeOf = (err: unknown): 1 | 2 | 3 => {
  if (err instanceof UsageError || err instanceof ConfigError) return 2;
  if (err instanceof FlywheelError && !err.retriable) return 1;
  return 3;
};

/** An input file the command cannot use as it is (bad rows, missing column): fix the file. */
export class BadInput extends FlywheelError {
  readonly kind = 'invalid' as const;
}
