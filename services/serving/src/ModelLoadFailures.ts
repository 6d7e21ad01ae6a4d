import type { Logger } from '@flywheel/runtime';
import type { ServingMetrics } from './servingMetrics.js';

/** Why a model is not served: what /readyz, GET /v1/models/:model and its 503s show. */
export interface LoadFailure {
  model: string;
  reason: string;
  /** Failed attempts in a row. */
  attempts: number;
  /** First failure of this run of failures (ISO time). */
  since: string;
  /** When the next attempt starts (ISO time). */
  nextRetryAt: string;
}

/** Backoff of load retries: the delay doubles from `baseMs` per failed attempt, up to `capMs`. */
export interface LoadRetryPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_LOAD_RETRY: LoadRetryPolicy = { baseMs: 1_000, capMs: 60_000 };

/**
 * Delay before the retry that follows failed attempt number `attempt` (0-based): capped exponential,
 * with up to half of it random so that replicas that failed together do not retry in step.
 */
export const loadRetryDelayMs = (attempt: number, policy: LoadRetryPolicy, random: () => number = Math.random): number => {
  // 2^30 already exceeds any sane cap; the clamp keeps the power finite.
  const full = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(full / 2 + (random() * full) / 2);
};

export interface ModelLoadFailuresDeps {
  metrics: Pick<ServingMetrics, 'modelLoadFailures'>;
  logger: Logger;
  policy?: LoadRetryPolicy;
  /** Starts the next attempt; it reports back through failed() or loaded(). */
  retry: (model: string) => void;
  now?: () => number;
  random?: () => number;
}

/**
 * The models whose current state could not be loaded (missing or damaged artifacts, registry
 * unreachable): records why, counts each failed attempt and schedules the next one with capped
 * exponential backoff, so a repaired or re-registered model comes back without a restart while
 * every other model keeps serving.
 */
export class ModelLoadFailures {
  private readonly failing = new Map<string, { failure: LoadFailure; timer: NodeJS.Timeout }>();
  private readonly policy: LoadRetryPolicy;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: ModelLoadFailuresDeps) {
    this.policy = deps.policy ?? DEFAULT_LOAD_RETRY;
    this.now = deps.now ?? Date.now;
  }

  /** Records a failed attempt and schedules the next one. */
  failed(model: string, err: unknown): LoadFailure {
    const previous = this.failing.get(model);
    if (previous !== undefined) clearTimeout(previous.timer);
    const attempts = (previous?.failure.attempts ?? 0) + 1;
    const delayMs = loadRetryDelayMs(attempts - 1, this.policy, this.deps.random);
    const now = this.now();
    const failure: LoadFailure = {
      model,
      reason: err instanceof Error ? err.message : String(err),
      attempts,
      since: previous?.failure.since ?? new Date(now).toISOString(),
      nextRetryAt: new Date(now + delayMs).toISOString(),
    };
    const timer = setTimeout(() => {
      if (!this.closed) this.deps.retry(model);
    }, delayMs).unref();
    this.failing.set(model, { failure, timer });
    this.deps.metrics.modelLoadFailures.inc({ model });
    this.deps.logger.error(
      { err, model, attempts, retryInMs: delayMs },
      'model could not be loaded: it answers 503 while the other models serve, and is retried with backoff (fix the cause the error names, e.g. restore or re-register its artifacts)',
    );
    return failure;
  }

  /** Forgets the model's failures once a state of it serves. */
  loaded(model: string): void {
    const entry = this.failing.get(model);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.failing.delete(model);
    this.deps.logger.info({ model, failedAttempts: entry.failure.attempts }, 'model loaded after failed attempts');
  }

  get(model: string): LoadFailure | undefined {
    return this.failing.get(model)?.failure;
  }

  /** Every failing model, sorted by name. */
  list(): LoadFailure[] {
    return [...this.failing.values()].map((e) => e.failure).sort((a, b) => a.model.localeCompare(b.model));
  }

  /** Cancels every pending retry. */
  close(): void {
    this.closed = true;
    for (const e of this.failing.values()) clearTimeout(e.timer);
  }
}
