import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { deadLetterHeaders } from '@flywheel/contracts';

/** A dead-lettered record: the refused event's id (when its value was JSON with an id), who refused it and why. */
export interface DeadLetter {
  topic: string;
  eventId: string | undefined;
  group: string;
  reason: string;
}

/**
 * Kafka as an outside producer sees it: raw records on any topic (no schema, no trust check), and a
 * reader of the dead-letter topics that collects what the services refused.
 */
export interface RawKafka {
  produce(topic: string, key: string, value: string): Promise<void>;
  /** Everything read so far from the watched dead-letter topics. */
  deadLetters(): readonly DeadLetter[];
  close(): Promise<void>;
}

const header = (h: Record<string, unknown> | undefined, name: string): string => {
  const v = h?.[name];
  return v === undefined ? '' : Buffer.isBuffer(v) ? v.toString() : String(v);
};

/**
 * Connects a producer and a reader of `dlqTopics`, read from the beginning. Subscribing asks for the
 * topics' metadata with auto-creation on, so a DLQ nobody wrote to yet exists before the attacks start
 * (the mock cluster has no controller for the admin API).
 */
export const connectRawKafka = async (brokers: string, clientId: string, dlqTopics: readonly string[]): Promise<RawKafka> => {
  const kafka = new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({ groupId: `${clientId}-dlq-reader`, allowAutoTopicCreation: true });
  await consumer.connect();
  await consumer.subscribe({ topics: [...dlqTopics], fromBeginning: true });
  const seen: DeadLetter[] = [];
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      let eventId: string | undefined;
      try {
        const v = JSON.parse(message.value?.toString('utf8') ?? '') as { id?: unknown };
        if (typeof v.id === 'string') eventId = v.id;
      } catch {
        // Not JSON: refused for that; it has no id to match.
      }
      const h = message.headers as Record<string, unknown> | undefined;
      seen.push({ topic, eventId, group: header(h, deadLetterHeaders.group), reason: header(h, deadLetterHeaders.reason) });
    },
  });
  return {
    produce: async (topic, key, value) => {
      await producer.send({ topic, acks: -1, messages: [{ key, value, headers: { 'content-type': 'application/cloudevents+json' } }] });
    },
    deadLetters: () => seen,
    close: async () => {
      await consumer.disconnect();
      await producer.disconnect();
    },
  };
};
