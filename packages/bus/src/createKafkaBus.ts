// Kept whole (about 300 lines): the consume loop, its dedupe marks and its retry policy share per-partition state; split, they would pass it around.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Kafka, logLevel, type Consumer, type EachBatchPayload, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { createTrustCheck, deadLetterHeaders, deadLetterTopic, isBuiltEvent, topics, type EventOf, type TopicKey, type TrustOptions } from '@flywheel/contracts';
import { backoffMs, classifyError, PoisonMessage, sleep, type Logger } from '@flywheel/runtime';
import { createBusMetrics } from './busMetrics.js';
import { compileCheck, createAjv, type CompiledCheck } from './compiledCheck.js';
import { checkValue, claimedId, parseValue } from './decode.js';
import { kafkaClientSecurity, type KafkaSecurity } from './kafkaSecurity.js';
import type { Bus, ConsumeOptions, Handlers, MessageContext, Publisher, RunningConsumer } from './types.js';

/** What the consume loop needs to skip redeliveries: the Redis-backed Dedupe satisfies it. */
export interface ProcessedIds {
  seen(group: string, ids: readonly string[]): Promise<boolean[]>;
  mark(group: string, ids: readonly string[]): Promise<void>;
}

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  metrics: Registry;
  dedupe: ProcessedIds;
  /** Prepended to every topic name; lets tests and tenants use their own topics. */
  topicPrefix?: string;
  /** Source attribute for the events this process builds. */
  connectionTimeoutMs?: number;
  /** Consumer group failover (see KAFKA_SESSION_TIMEOUT_MS); defaults 30 s and 60 s. */
  sessionTimeoutMs?: number;
  rebalanceTimeoutMs?: number;
  /** TLS and SASL to the brokers (kafkaSecurityFromConfig builds it from KAFKA_TLS*, KAFKA_SASL_*). */
  security?: KafkaSecurity;
  /** Bounds of the trust check every consumed event passes (defaults: DEFAULT_TRUST_BOUNDS). */
  trust?: TrustOptions;
}

const STRUCTURED = { 'content-type': 'application/cloudevents+json' } as const;
/** Events validated between two turns of the event loop when publishing a long batch. */
const PUBLISH_SLICE = 100;

const toLogLevel = (l: logLevel): 'error' | 'warn' | 'info' | 'debug' =>
  l === logLevel.ERROR ? 'error' : l === logLevel.WARN ? 'warn' : l === logLevel.INFO ? 'info' : 'debug';

/**
 * The bus over kafkajs. Publishing validates against the topic's schema before sending. Consuming
 * is the one loop of STYLE §8: decode, skip processed ids, await the handler, retry retriable
 * failures without committing, dead-letter the rest with the reason and the original bytes.
 */
export const createKafkaBus = (opts: KafkaBusOptions): Bus => {
  const log = opts.logger.child({ component: 'bus' });
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5_000 },
    logLevel: logLevel.WARN,
    ...kafkaClientSecurity(opts.security),
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...extra } = entry;
      log[toLogLevel(level)]({ kafka: extra, namespace }, message);
    },
  });
  const m = createBusMetrics(opts.metrics);
  const prefix = opts.topicPrefix ?? '';
  const topicName = (k: TopicKey): string => `${prefix}${topics[k].name}`;
  // Who may publish on each topic, and sane bounds on tokens and revisions: refused events are dead letters.
  const trust = createTrustCheck(opts.trust);
  // Each topic's compiled check, built once per bus: it spares zod on the values it can vouch for
  // (compiledCheck.ts). A schema ajv cannot compile is validated by zod alone, as before.
  const ajv = createAjv();
  const compiled = new Map<TopicKey, CompiledCheck | undefined>();
  const compiledCheckOf = (k: TopicKey): CompiledCheck | undefined => {
    if (!compiled.has(k)) {
      try {
        compiled.set(k, compileCheck(topics[k].schema, ajv));
      } catch (err) {
        log.warn({ err, topic: topicName(k) }, 'no compiled check for this topic; zod validates every message');
        compiled.set(k, undefined);
      }
    }
    return compiled.get(k);
  };

  // Not idempotent: the mock broker has no controller for it, and consumers dedupe by event id anyway.
  let producer: Producer | undefined;
  let producerReady: Promise<Producer> | undefined;
  const getProducer = (): Promise<Producer> => {
    producerReady ??= (async () => {
      const p = kafka.producer({ allowAutoTopicCreation: true, idempotent: false });
      await p.connect();
      producer = p;
      return p;
    })().catch((err: unknown) => {
      producerReady = undefined;
      throw err;
    });
    return producerReady;
  };

  const send = async (topic: string, messages: { key: string | null; value: Buffer | string; headers?: IHeaders }[]): Promise<void> => {
    const p = await getProducer();
    try {
      await p.send({ topic, acks: -1, messages });
      m.published.inc({ topic }, messages.length);
    } catch (err) {
      m.publishFailures.inc({ topic });
      throw err;
    }
  };

  const publisher: Publisher = {
    async publish(topic, event, o) {
      await publisher.publishMany(topic, [event], o?.key ? { key: () => o.key as string } : undefined);
    },
    async publishMany<K extends TopicKey>(topic: K, events: readonly EventOf<K>[], o?: { key?: (e: EventOf<K>) => string }) {
      if (events.length === 0) return;
      const schema = topics[topic].schema;
      // CloudEvents structured mode: the envelope is the value and content-type says so. The id and
      // type are not repeated as ce_* headers (that is binary mode), which keeps every record ~70
      // bytes smaller for kafkajs to encode and checksum.
      const messages: { key: string; value: string; headers: typeof STRUCTURED }[] = [];
      for (let i = 0; i < events.length; i++) {
        // A long batch (an outbox relay's backlog) validates in slices, letting the process's other
        // work (an HTTP API on the same loop) run between them instead of waiting for all of it.
        if (i > 0 && i % PUBLISH_SLICE === 0) await nextTurn();
        // An envelope makeEvent built for this topic passed this schema and is frozen: not parsed twice.
        const e = events[i]!;
        const valid = isBuiltEvent(topic, e) ? e : (schema.parse(e) as EventOf<K>);
        messages.push({ key: o?.key ? o.key(valid) : valid.subject, value: JSON.stringify(valid), headers: STRUCTURED });
      }
      await send(topicName(topic), messages);
    },
  };

  // For events this process validated when it built them and stored them itself (its outbox rows):
  // the full schema ran once already, so only the envelope's type and version are checked here, which
  // still refuses a row of another topic or an older schema version (the relay moves it aside).
  const validatedPublisher: Publisher = {
    async publish(topic, event, o) {
      await validatedPublisher.publishMany(topic, [event], o?.key ? { key: () => o.key as string } : undefined);
    },
    async publishMany<K extends TopicKey>(topic: K, events: readonly EventOf<K>[], o?: { key?: (e: EventOf<K>) => string }) {
      if (events.length === 0) return;
      const { type, schemaversion } = topics[topic].schema.shape;
      const messages: { key: string; value: string; headers: typeof STRUCTURED }[] = [];
      for (let i = 0; i < events.length; i++) {
        if (i > 0 && i % PUBLISH_SLICE === 0) await nextTurn();
        const e = events[i]!;
        if (e.type !== type.value || e.schemaversion !== schemaversion.value) {
          throw new PoisonMessage(`event ${String(e.id)} is a ${String(e.type)} v${String(e.schemaversion)}, not a ${type.value} v${schemaversion.value}: it does not belong on ${topicName(topic)}`);
        }
        messages.push({ key: o?.key ? o.key(e) : e.subject, value: JSON.stringify(e), headers: STRUCTURED });
      }
      await send(topicName(topic), messages);
    },
  };

  const consumers = new Set<RunningConsumer>();

  const consume = async (group: string, handlers: Handlers, co: ConsumeOptions = {}): Promise<RunningConsumer> => {
    const byName = new Map<string, TopicKey>();
    for (const k of Object.keys(handlers) as TopicKey[]) byName.set(topicName(k), k);
    if (byName.size === 0) throw new Error(`consumer group ${group} has no handlers; pass at least one topic handler`);
    for (const k of byName.values()) compiledCheckOf(k);
    // A short fetch wait: the mock broker answers a fetch only when maxWait expires, so the default 5 s is 5 s of latency.
    // The topic prefix also scopes the group: two stacks on one broker (tests, demo runs) never share a group.
    const sessionTimeout = opts.sessionTimeoutMs ?? 30_000;
    const newConsumer = (): Consumer => kafka.consumer({
      groupId: `${prefix}${group}`, allowAutoTopicCreation: true, maxWaitTimeInMs: co.maxWaitTimeInMs ?? 100,
      sessionTimeout, rebalanceTimeout: opts.rebalanceTimeoutMs ?? 60_000, heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    });
    const stopping = new AbortController();
    // Signs of life for the stall watchdog: fetches, heartbeats, and progress inside each batch.
    const stallAfterMs = co.stallAfterMs ?? 90_000;
    let lastSign = Date.now();
    const batchesInProgress = new Map<object, number>();
    const sign = (batchToken?: object): void => {
      lastSign = Date.now();
      if (batchToken) batchesInProgress.set(batchToken, lastSign);
    };
    const maxUnknown = co.maxUnknownErrorAttempts ?? 5;
    // Handlers declared idempotent skip the processed-ids store: no lookup, no mark, per batch.
    const dedupe = co.idempotentHandlers !== true;
    const maxBackoff = co.maxBackoffMs ?? 5_000;

    const deadLetter = async (msg: KafkaMessage, ctx: MessageContext, reason: string, errorClass: string): Promise<void> => {
      await send(deadLetterTopic(ctx.topic), [{
        key: msg.key ? msg.key.toString() : null,
        value: msg.value ?? Buffer.alloc(0),
        headers: {
          [deadLetterHeaders.reason]: reason.slice(0, 4000),
          [deadLetterHeaders.sourceTopic]: ctx.topic,
          [deadLetterHeaders.partition]: String(ctx.partition),
          [deadLetterHeaders.offset]: ctx.offset,
          [deadLetterHeaders.group]: group,
          [deadLetterHeaders.errorClass]: errorClass,
          [deadLetterHeaders.failedAt]: new Date().toISOString(),
        },
      }]);
      m.deadLettered.inc({ group, topic: ctx.topic, reason: errorClass });
      log.warn({ group, topic: ctx.topic, partition: ctx.partition, offset: ctx.offset, reason }, 'dead-lettered a message');
    };

    // Dedupe marks run behind the partition: a batch's processed ids are written while kafkajs
    // fetches the next batch, and that batch awaits them (with its own seen-check) before its
    // handlers run. One mark in flight per partition; ids in flight count as seen.
    const marking = new Map<string, Promise<Error | undefined>>();
    const inFlight = new Set<string>();
    const startMark = (partitionKey: string, ids: string[]): Promise<Error | undefined> => {
      const prev = marking.get(partitionKey);
      for (const id of ids) inFlight.add(id);
      // Never rejects: the error is handed to whoever awaits the partition's marks next.
      const p = (async () => {
        const prevErr = prev ? await prev : undefined;
        try {
          await opts.dedupe.mark(group, ids);
          return prevErr;
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        } finally {
          for (const id of ids) inFlight.delete(id);
        }
      })();
      marking.set(partitionKey, p);
      return p;
    };
    // The latest mark of a partition stays in the map until awaited, so its failure is never lost.
    const awaitMarks = async (partitionKey: string): Promise<void> => {
      const p = marking.get(partitionKey);
      if (!p) return;
      const err = await p;
      if (marking.get(partitionKey) === p) marking.delete(partitionKey);
      if (err) throw new Error(`recording processed event ids failed (${err.message}); the batch will be redelivered once the dedupe store answers`, { cause: err });
    };

    const eachBatch = async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> => {
      const key = byName.get(batch.topic);
      if (!key) return;
      const handler = handlers[key] as ((e: unknown, c: MessageContext) => Promise<void>) | undefined;
      if (!handler) return;
      const schema = topics[key].schema;
      const compiledCheck = compiledCheckOf(key);
      const partitionKey = `${batch.topic}:${batch.partition}`;
      const labels = { group, topic: batch.topic };
      const batchToken = {};
      sign(batchToken);
      const handleBatch = async (): Promise<void> => {
        // The dedupe lookup goes out first, for the ids the values claim, and runs while they are
        // validated: the batch waits for one round trip or for validation, whichever is longer, not
        // both. Looking up an id whose message then fails validation costs nothing but the lookup.
        m.batchMessages.observe(labels, batch.messages.length);
        const parsed = batch.messages.map((msg) => parseValue(msg.value));
        const ids: string[] = [];
        if (dedupe) for (const p of parsed) { const id = p.ok ? claimedId(p.json) : undefined; if (id !== undefined) ids.push(id); }
        // Ids whose mark is still in flight were processed already even if the store does not say so yet.
        const already = new Set(ids.filter((id) => inFlight.has(id)));
        const lookup = dedupe ? Promise.all([opts.dedupe.seen(group, ids), awaitMarks(partitionKey)]) : undefined;
        // Not awaited until validation is done: keep a failure from counting as unhandled meanwhile.
        lookup?.catch(() => {});
        const decoded = parsed.map((p) => (p.ok ? checkValue(schema, p.json, trust, compiledCheck) : p));
        if (lookup) {
          const waitStart = performance.now();
          const [seen] = await lookup;
          m.dedupeWait.observe(labels, (performance.now() - waitStart) / 1000);
          ids.forEach((id, i) => { if (seen[i]) already.add(id); });
        }

        let pendingIds: string[] = [];
        let pendingOffset: string | undefined;
        let processed = 0;
        let duplicates = 0;
        // `wait` marks before resolving (the retry path: nothing moves on until the mark is stored);
        // otherwise the mark runs behind, and the next batch of this partition awaits it.
        const flush = async (wait: boolean): Promise<void> => {
          if (dedupe && pendingIds.length > 0) {
            // Never rejects; awaited (and its error thrown) by awaitMarks here or at the partition's next batch.
            void startMark(partitionKey, pendingIds);
            if (wait) await awaitMarks(partitionKey);
          }
          if (pendingOffset !== undefined) {
            resolveOffset(pendingOffset);
            m.lag.set({ group, topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - 1 - Number(pendingOffset)));
          }
          if (processed > 0) m.processed.inc(labels, processed);
          if (duplicates > 0) m.duplicates.inc(labels, duplicates);
          pendingIds = [];
          pendingOffset = undefined;
          processed = 0;
          duplicates = 0;
          await heartbeat();
        };

        for (let i = 0; i < batch.messages.length; i++) {
          if (!isRunning() || isStale() || stopping.signal.aborted) break;
          sign(batchToken);
          const msg = batch.messages[i]!;
          const d = decoded[i]!;
          const ctx: MessageContext = { topic: batch.topic, partition: batch.partition, offset: msg.offset, key: msg.key?.toString() };
          if (!d.ok) {
            await deadLetter(msg, ctx, d.reason, d.errorClass);
          } else if (already.has(d.event.id)) {
            duplicates++;
          } else {
            let attempt = 0;
            for (;;) {
              try {
                await handler(d.event, ctx);
                processed++;
                pendingIds.push(d.event.id);
                already.add(d.event.id);
                break;
              } catch (err) {
                // One retry policy: data errors (schema, PostgreSQL classes 22/23) are dead letters at once,
                // unavailability is retried for as long as it takes, an unclassified error (a bug) a few times.
                const known = classifyError(err);
                const retriable = known ? known.retriable : attempt + 1 < maxUnknown;
                m.failed.inc({ group, topic: batch.topic, retriable: String(retriable) });
                if (!retriable) {
                  await deadLetter(msg, ctx, known?.message ?? `${(err as Error).message ?? String(err)}`, known?.name ?? (err as Error).name ?? 'Error');
                  break;
                }
                log.warn({ err, group, topic: batch.topic, offset: msg.offset, attempt }, 'handler failed; retrying without committing');
                // Commit what already succeeded before waiting, so a restart does not redo it.
                await flush(true);
                await sleep(backoffMs(attempt, 100, maxBackoff), stopping.signal);
                sign(batchToken); // retrying an outage is progress, not a stall
                attempt++;
                if (!isRunning() || stopping.signal.aborted) {
                  throw new Error(`consumer ${group} stopped while retrying ${batch.topic}@${msg.offset}; it will be redelivered`);
                }
              }
            }
          }
          pendingOffset = msg.offset;
          if (pendingIds.length >= 500) await flush(false);
        }
        await flush(false);
        await commitOffsetsIfNecessary();
      };
      try {
        await handleBatch();
      } finally {
        batchesInProgress.delete(batchToken);
      }
    };

    const start = async (): Promise<Consumer> => {
      const c = newConsumer();
      c.on(c.events.FETCH_START, () => sign());
      c.on(c.events.HEARTBEAT, () => sign());
      await c.connect();
      await c.subscribe({ topics: [...byName.keys()], fromBeginning: co.fromBeginning ?? true });
      const joined = new Promise<void>((resolve) => {
        const off = c.on(c.events.GROUP_JOIN, () => {
          off();
          resolve();
        });
      });
      sign();
      await c.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        autoCommitInterval: 1_000,
        partitionsConsumedConcurrently: co.partitionsConsumedConcurrently ?? 4,
        eachBatch,
      });
      await joined;
      return c;
    };
    let consumer = await start();
    log.info({ group, topics: [...byName.keys()] }, 'consumer joined');

    // The watchdog: kafkajs can stay in a rejoin that never ends (seen under broker pauses in
    // bench:chaos), and a handler can await forever. Either way the group stops consuming while the
    // process looks healthy, so a stalled consumer is replaced. The old one is let go without waiting
    // (its disconnect waits for the stuck batch); the coordinator drops it when its session times out,
    // and its partitions move to the new member. Handlers are idempotent, so a batch the old one
    // finishes late is a duplicate at worst.
    let replacing = false;
    const watchdog = setInterval(() => {
      if (replacing || stopping.signal.aborted) return;
      const now = Date.now();
      const oldestBatch = Math.min(now, ...batchesInProgress.values());
      const silentMs = Math.max(now - lastSign, now - oldestBatch);
      if (silentMs < stallAfterMs) return;
      replacing = true;
      m.stalls.inc({ group });
      log.error({ group, silentMs }, 'consumer shows no sign of life (stuck join or handler); replacing it with a new one');
      const stuck = consumer;
      batchesInProgress.clear();
      void stuck.disconnect().catch((err: unknown) => log.warn({ err, group }, 'the stalled consumer did not disconnect cleanly'));
      start().then(
        (fresh) => {
          if (stopping.signal.aborted) void fresh.disconnect().catch(() => {});
          else consumer = fresh;
          log.info({ group }, 'replacement consumer joined');
        },
        (err: unknown) => log.warn({ err, group }, 'replacement consumer could not start; the watchdog tries again'),
      ).finally(() => {
        sign();
        replacing = false;
      });
    }, Math.max(250, Math.min(10_000, Math.floor(stallAfterMs / 4))));
    watchdog.unref();

    const running: RunningConsumer = {
      group,
      stop: async () => {
        stopping.abort();
        clearInterval(watchdog);
        consumers.delete(running);
        await consumer.disconnect();
        // Marks still running behind the last batches: let them land (their offsets are resolved already).
        for (const [partitionKey, p] of marking) {
          const err = await p;
          if (err) log.warn({ err, group, partition: partitionKey }, 'recording processed event ids failed at stop; a redelivery of those events would be handled again');
        }
      },
    };
    consumers.add(running);
    return running;
  };

  return {
    publisher,
    validatedPublisher,
    consume,
    topicName,
    close: async () => {
      for (const c of [...consumers]) await c.stop();
      if (producer) await producer.disconnect();
    },
  };
};
