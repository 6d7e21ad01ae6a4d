import { z } from 'zod';
import { safeString } from './safeText.js';
import { EventId, ModelName } from './ids.js';

/** CloudEvents spec version every Flywheel event carries. */
export const SPEC_VERSION = '1.0';

/** Who may publish what; enforced by every consumer (createTrustCheck), stated here for the JSON Schemas. */
const SOURCE_RULES =
  'The producer. Flywheel services publish as /flywheel/<service>[/<instance>], and only the owners of a topic (see topicOwners) may publish on it. ' +
  'On feedback-events, outside producers must name their API client: /clients/<client-name>. Consumers dead-letter an event from any other source.';

/**
 * The one envelope of every message: CloudEvents 1.0 attributes (structured JSON mode) plus
 * `schemaversion`, an extension attribute that lets a consumer refuse a major it does not know.
 * `subject` is the model name, which is also the Kafka key, so events of one model keep their order.
 */
export const envelope = <T extends string, D extends z.ZodTypeAny>(type: T, data: D, schemaVersion = 1) =>
  z.object({
    specversion: z.literal(SPEC_VERSION),
    id: EventId,
    source: safeString('source').min(1, 'source names the producer, e.g. /flywheel/feedback-ingest').max(200).describe(SOURCE_RULES),
    type: z.literal(type),
    time: z.string().datetime({ offset: true }),
    subject: ModelName,
    datacontenttype: z.literal('application/json'),
    schemaversion: z.literal(schemaVersion),
    data,
  });

/** The attributes every envelope shares, whatever its data. */
export const EnvelopeHeader = z.object({
  specversion: z.literal(SPEC_VERSION),
  id: EventId,
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.string().datetime({ offset: true }),
  subject: ModelName,
  datacontenttype: z.literal('application/json'),
  schemaversion: z.number().int().positive(),
});
export type EnvelopeHeader = z.infer<typeof EnvelopeHeader>;
