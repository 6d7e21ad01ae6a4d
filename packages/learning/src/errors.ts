import { FlywheelError } from '@flywheel/runtime';

/** Closed set of failure kinds of the learning package. */
export type LearningErrorCode =
  | 'invalid_manifest'
  | 'incomplete_state'
  | 'base_mismatch'
  | 'hash_mismatch'
  | 'invalid_data'
  | 'invalid_model'
  | 'no_backend';

/**
 * Raised for inputs the caller must fix (bad files, wrong base, corrupted bytes).
 * Never retriable: retrying with the same input fails the same way.
 */
export class LearningError extends FlywheelError {
  readonly kind = 'invalid' as const;
  constructor(
    readonly code: LearningErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, { ...options, reason: code });
  }
}
