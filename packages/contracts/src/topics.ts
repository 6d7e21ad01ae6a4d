import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { envelope, SPEC_VERSION } from './envelope.js';
import { FeedbackReceived } from './feedback.js';
import type { EventId, ModelName } from './ids.js';
import { PredictionMade } from './predictions.js';
import { RetrainingRequested } from './triggers.js';
import { TrainingStatusChanged } from './training.js';
import { ModelUpdated } from './modelUpdates.js';
import { DriftReported } from './drift.js';

/** Every topic Flywheel owns: its Kafka name and the one schema its values must satisfy. */
export const topics = {
  feedback: { name: 'feedback-events', schema: envelope('feedback.received.v1', FeedbackReceived) },
  predictions: { name: 'predictions', schema: envelope('prediction.made.v1', PredictionMade) },
  retrainingTriggers: { name: 'retraining-triggers', schema: envelope('retraining.requested.v1', RetrainingRequested) },
  trainingStatus: { name: 'training-status', schema: envelope('training.status_changed.v1', TrainingStatusChanged) },
  modelUpdates: { name: 'model-updates', schema: envelope('model.updated.v1', ModelUpdated) },
  driftReports: { name: 'drift-reports', schema: envelope('drift.reported.v1', DriftReported) },
} as const;

export type Topics = typeof topics;
export type TopicKey = keyof Topics;
/** The full envelope type of a topic's messages. */
export type EventOf<K extends TopicKey> = z.infer<Topics[K]['schema']>;
/** The data payload type of a topic's messages. */
export type DataOf<K extends TopicKey> = EventOf<K>['data'];

export const topicKeys = Object.keys(topics) as TopicKey[];

/** The dead-letter topic for a topic: `<topic>.dlq`. */
export const deadLetterTopic = (topicName: string): string => `${topicName}.dlq`;

/** Headers a dead-lettered record carries; its value is the original bytes, untouched. */
export const deadLetterHeaders = {
  reason: 'flywheel-dlq-reason',
  sourceTopic: 'flywheel-dlq-topic',
  partition: 'flywheel-dlq-partition',
  offset: 'flywheel-dlq-offset',
  group: 'flywheel-dlq-group',
  errorClass: 'flywheel-dlq-error',
  failedAt: 'flywheel-dlq-failed-at',
} as const;

/** Envelopes makeEvent built: parsed by their topic's schema once, frozen so they stay as parsed. */
const builtEvents = new WeakSet<object>();

const deepFreeze = <T>(value: T): T => {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
};

/**
 * Whether `event` is an envelope makeEvent built for `key`: it passed that topic's full schema and
 * cannot have changed since (it is frozen), so a publisher need not parse it again.
 */
export const isBuiltEvent = <K extends TopicKey>(key: K, event: unknown): event is EventOf<K> =>
  typeof event === 'object' && event !== null && builtEvents.has(event) && (event as { type?: unknown }).type === topics[key].schema.shape.type.value &&
  (event as { schemaversion?: unknown }).schemaversion === topics[key].schema.shape.schemaversion.value;

/**
 * Builds a valid envelope for a topic. `id` may be given to make the event idempotent (e.g. the
 * outbox row's id), otherwise a fresh UUID is used. The envelope is frozen (deeply): it is what
 * the schema accepted, and publishing it again skips the parse (isBuiltEvent).
 */
export const makeEvent = <K extends TopicKey>(
  key: K,
  args: { source: string; subject: ModelName | string; data: DataOf<K>; id?: string; time?: Date },
): EventOf<K> => {
  const raw = {
    specversion: SPEC_VERSION,
    id: (args.id ?? randomUUID()) as EventId,
    source: args.source,
    type: topics[key].schema.shape.type.value,
    time: (args.time ?? new Date()).toISOString(),
    subject: args.subject,
    datacontenttype: 'application/json',
    schemaversion: topics[key].schema.shape.schemaversion.value,
    data: args.data,
  };
  const event = deepFreeze(topics[key].schema.parse(raw) as EventOf<K>);
  builtEvents.add(event);
  return event;
};
