import type { RetentionPolicy } from '@flywheel/postgres';
import type { IngestConfig } from './config.js';

const HOUR = 3_600_000;

/**
 * What feedback-ingest forgets, and when. Feedback itself is kept: it is the training data.
 * - predictions: the log feedback is joined to when it names a prediction (predicted label,
 *   version, variant) and the source of pseudo-labels (newest first). Feedback on a prediction
 *   older than PREDICTIONS_KEEP_DAYS is still accepted, with only what the caller sent.
 * - idempotency keys: a client retries a request within minutes; after IDEMPOTENCY_KEEP_HOURS the
 *   same key is a new request.
 */
export const ingestRetention = (c: Pick<IngestConfig, 'PREDICTIONS_KEEP_DAYS' | 'IDEMPOTENCY_KEEP_HOURS'>): RetentionPolicy[] => [
  { table: 'predictions', column: 'created_at', keepMs: c.PREDICTIONS_KEEP_DAYS * 24 * HOUR },
  { table: 'feedback_ingest_idempotency', column: 'created_at', keepMs: c.IDEMPOTENCY_KEEP_HOURS * HOUR },
];
