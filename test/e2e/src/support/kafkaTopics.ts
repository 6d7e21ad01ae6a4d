import { Kafka, logLevel, type IHeaders } from 'kafkajs';
import { sleep } from './waitFor.js';

/** A record as read back from a topic. */
export interface RawRecord {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

const kafkaFor = (brokers: string): Kafka => new Kafka({ clientId: `e2e-${process.pid}`, brokers: brokers.split(','), logLevel: logLevel.NOTHING });

/** Produces raw records as an outside producer would (no schema, no envelope checks). */
export const produceRaw = async (brokers: string, topic: string, records: { key: string; value: string | Buffer; headers?: IHeaders }[]): Promise<void> => {
  const producer = kafkaFor(brokers).producer({ allowAutoTopicCreation: true, idempotent: false });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: records });
  } finally {
    await producer.disconnect();
  }
};

/** Reads `topic` from the beginning with a fresh group until `done(records)` holds or `timeoutMs` passes. */
export const readTopic = async (brokers: string, topic: string, done: (rs: readonly RawRecord[]) => boolean, timeoutMs: number): Promise<RawRecord[]> => {
  const consumer = kafkaFor(brokers).consumer({ groupId: `e2e-reader-${Math.random().toString(16).slice(2)}`, allowAutoTopicCreation: true });
  const out: RawRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString();
        out.push({ key: message.key ? message.key.toString() : null, value: message.value ? message.value.toString() : '', headers });
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (!done(out) && Date.now() < deadline) await sleep(250);
  } finally {
    await consumer.disconnect();
  }
  return out;
};
