import type { EventOf, TopicKey } from '@flywheel/contracts';

/** Where a message came from, for logs and idempotency keys. */
export interface MessageContext {
  topic: string;
  partition: number;
  offset: string;
  key: string | undefined;
}

export type Handler<K extends TopicKey> = (event: EventOf<K>, ctx: MessageContext) => Promise<void>;
/** One handler per topic a consumer group reads. */
export type Handlers = { [K in TopicKey]?: Handler<K> };

/** Publishes envelopes to their topic, keyed by model name unless a key is given. */
export interface Publisher {
  publish<K extends TopicKey>(topic: K, event: EventOf<K>, opts?: { key?: string }): Promise<void>;
  publishMany<K extends TopicKey>(topic: K, events: readonly EventOf<K>[], opts?: { key?: (e: EventOf<K>) => string }): Promise<void>;
}

export interface ConsumeOptions {
  /** Start a new group from the oldest retained message (default true: nothing published before the first start is missed). */
  fromBeginning?: boolean;
  /** Partitions handled in parallel; order holds within a partition. */
  partitionsConsumedConcurrently?: number;
  /** Attempts for errors that are not known to be retriable before they are dead-lettered. */
  maxUnknownErrorAttempts?: number;
  /** Cap of the backoff between retries. */
  maxBackoffMs?: number;
  /** Longest a fetch waits for new data; bounds end-to-end latency on a quiet topic (default 100 ms). */
  maxWaitTimeInMs?: number;
  /**
   * A consumer that shows no sign of life this long (no fetch, no heartbeat, no progress in a batch)
   * is stuck — a join that never ends, a handler awaiting forever — and is replaced by a new one
   * (default 90 s). Handlers retrying an outage show progress at every attempt.
   */
  stallAfterMs?: number;
  /**
   * The handlers tolerate a redelivered event on their own (an upsert, a unique id in PostgreSQL), so
   * the consumer skips the processed-ids store (Redis): no lookup before a batch, no mark after it.
   * Default false: every event id is looked up and recorded, and a redelivery is skipped.
   */
  idempotentHandlers?: boolean;
}

export interface RunningConsumer {
  readonly group: string;
  stop(): Promise<void>;
}

export interface Bus {
  /** Validates every event against its topic's schema, then publishes. */
  publisher: Publisher;
  /**
   * For events that passed their topic's schema in this process before it stored them itself (an
   * outbox only it writes): checks the envelope's type and schema version, not the whole schema again.
   * Anything from elsewhere goes through `publisher`.
   */
  validatedPublisher: Publisher;
  /** Starts a consumer group over the topics in `handlers`; resolves once it has joined and is running. */
  consume(group: string, handlers: Handlers, opts?: ConsumeOptions): Promise<RunningConsumer>;
  /** The Kafka topic name of a topic key (with the bus's prefix). */
  topicName(topic: TopicKey): string;
  close(): Promise<void>;
}
