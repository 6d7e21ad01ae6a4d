import { DependencyDown } from '@flywheel/runtime';
import type { LoadFailure } from './ModelLoadFailures.js';

/**
 * 503 for a model that failed to load: the body names the reason and says the request may be
 * retried (serving retries the load itself), and `retryAfterSeconds` becomes the Retry-After header.
 */
export class ModelUnavailable extends DependencyDown {
  readonly retryAfterSeconds: number;

  constructor(failure: LoadFailure, now = Date.now()) {
    const retryAfterSeconds = Math.max(1, Math.ceil((Date.parse(failure.nextRetryAt) - now) / 1000));
    super(
      `model "${failure.model}" could not be loaded: ${failure.reason}; serving retries the load by itself (attempt ${failure.attempts} failed), retry the request after ${retryAfterSeconds}s`,
      { reason: 'model_unavailable', details: { model: failure.model, reason: failure.reason, retriable: true, retryAfterSeconds, attempts: failure.attempts, since: failure.since } },
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Extra response headers for an error: Retry-After when the model is being reloaded. */
export const retryHeaders = (err: unknown): Record<string, string> =>
  err instanceof ModelUnavailable ? { 'retry-after': String(err.retryAfterSeconds) } : {};
