// bench:bus — 100,000 events of ~300 bytes through the bus (validation + Redis dedupe on) and
// through raw kafkajs on the same broker, in the same run. Last line: one JSON object.
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { makeEvent, type EventOf } from '@flywheel/contracts';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { createKafkaBus, type ConsumeOptions } from '@flywheel/bus';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
// Events per produce request. The Kafka-protocol mock answers a fetch with one stored record batch
// per partition (one produce request's share of it), so this also sets the size of the batches the
// consumers get: 100 over 4 partitions gives fetches of 25. Real Kafka returns up to
// maxBytesPerPartition (1 MB, about 3,000 of these events) to a consumer behind a backlog;
// BENCH_PRODUCE_BATCH=1000 (fetches of 250) is closer to that.
const BATCH = Number(process.env.BENCH_PRODUCE_BATCH ?? 100);
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS is not set; run via `pnpm bench:bus`, which starts the platform');
const run = randomUUID().slice(0, 8);
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const until = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`bench timed out: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

// A prediction event padded so that its JSON is ~300 bytes.
// The mock broker keeps only ~5 MB per partition, so the stream is spread over 64 keys (4 partitions)
// and split into chunks of CHUNK events, each on its own topic, produced then consumed.
const CHUNK = 20_000;
const chunks = Math.ceil(N / CHUNK);
let seq = 0;
// Built by makeEvent as services build theirs (serving's prediction worker, the trainer, the CLI):
// the bus publishes such an envelope without parsing it a second time.
const event = (): EventOf<'predictions'> => {
  const data = (text: string) => ({ predictionId: randomUUID() as never, modelVersion: '1.0.0' as never, variant: 'champion' as const, text, label: 'electronics', confidence: 0.93, latencyMs: 0.2 });
  const subject = `bench-model-${seq++ % 64}`;
  const probe = JSON.stringify(makeEvent('predictions', { source: '/flywheel/serving/bench', subject, data: data('x') })).length;
  return makeEvent('predictions', { source: '/flywheel/serving/bench', subject, data: data('w'.repeat(Math.max(1, 300 - probe + 1))) });
};

// Raw kafkajs and the bus take turns chunk by chunk (raw, bus, raw, bus, ...), so that both see the
// same load on this shared machine: a ratio of two phases a minute apart would mostly measure the load.
const kafka = new Kafka({ brokers, clientId: `bench-raw-${run}`, logLevel: logLevel.NOTHING });
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const logger = createLogger({ service: 'bench', level: 'warn' });
const prefix = `bench-bus-${run}-`;
// One registry for every bus of the run: its batch-size and dedupe-wait histograms explain the consume ratio.
const metrics = createMetricsRegistry('bench');
const newBus = (topicPrefix: string, clientId = `bench-${run}`) => createKafkaBus({ brokers, clientId, logger, metrics, dedupe: new RedisDedupe(redis, { prefix: `bench-${run}`, ttlSeconds: 600 }), topicPrefix });
const slice = <T>(xs: T[], c: number): T[] => xs.slice(c * CHUNK, Math.min(N, (c + 1) * CHUNK));

/** One chunk through raw kafkajs: seconds to produce it, and to consume it from its first message. */
async function rawChunk(producer: Producer, part: { key: string; value: string }[], c: number) {
  const topic = `bench-raw-${run}-${c}`;
  const t0 = performance.now();
  for (let i = 0; i < part.length; i += BATCH) await producer.send({ topic, acks: -1, messages: part.slice(i, i + BATCH) });
  const produceSec = (performance.now() - t0) / 1000;
  let got = 0;
  let c0 = 0;
  const consumer = kafka.consumer({ groupId: `bench-raw-${run}-${c}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({ partitionsConsumedConcurrently: 4, eachBatch: async ({ batch }) => { if (c0 === 0) c0 = performance.now(); got += batch.messages.length; } });
  await until(() => got >= part.length, 60_000).catch((e) => { console.error("got", got, "of", part.length); throw e; });
  const consumeSec = (performance.now() - c0) / 1000;
  await consumer.disconnect(); // like the bus's, gone before the next phase
  return { produceSec, consumeSec };
}

/** One chunk through the bus: produce, consume with dedupe, then again by a group of idempotent handlers (no dedupe store). */
async function busChunk(part: EventOf<'predictions'>[], c: number) {
  const bus = newBus(`${prefix}${c}-`);
  const t0 = performance.now();
  for (let i = 0; i < part.length; i += BATCH) await bus.publisher.publishMany('predictions', part.slice(i, i + BATCH));
  const produceSec = (performance.now() - t0) / 1000;
  const consumeOnce = async (group: string, opts: ConsumeOptions): Promise<number> => {
    let got = 0;
    let c0 = 0;
    await bus.consume(group, { predictions: async () => { if (c0 === 0) c0 = performance.now(); got++; } }, opts);
    await until(() => got >= part.length, 60_000).catch((e) => { console.error("got", got, "of", part.length); throw e; });
    return (performance.now() - c0) / 1000;
  };
  // The first group to read a fresh topic may pay for it; the two take turns going first.
  const dedupeFirst = c % 2 === 0;
  const first = await consumeOnce(`bench-bus-${dedupeFirst ? '' : 'idem-'}${run}-${c}`, dedupeFirst ? {} : { idempotentHandlers: true });
  const second = await consumeOnce(`bench-bus-${dedupeFirst ? 'idem-' : ''}${run}-${c}`, dedupeFirst ? { idempotentHandlers: true } : {});
  const [consumeSec, idempotentSec] = dedupeFirst ? [first, second] : [second, first];
  await bus.close();
  return { produceSec, consumeSec, idempotentSec };
}

/** End-to-end latency: a steady stream of timestamped messages while the consumer runs. */
async function rawLatency(producer: Producer, value: string) {
  const lat: number[] = [];
  const ltopic = `bench-raw-${run}-lat`;
  const lc = kafka.consumer({ groupId: `bench-raw-lat-${run}`, maxWaitTimeInMs: 100 });
  await lc.connect();
  await lc.subscribe({ topic: ltopic, fromBeginning: true });
  await lc.run({ eachMessage: async ({ message }) => { lat.push(Date.now() - Number(message.headers?.t?.toString())); } });
  await new Promise((r) => setTimeout(r, 4000));
  for (let i = 0; i < 50; i++) {
    await producer.send({ topic: ltopic, messages: Array.from({ length: 20 }, () => ({ key: 'k', value, headers: { t: String(Date.now()) } })) });
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => lat.length >= 1000, 30_000);
  await lc.disconnect();
  return { p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
}

async function busLatency() {
  // The envelope's time is set at publish.
  const bus2 = newBus(`${prefix}lat-`, `bench-lat-${run}`);
  const lat: number[] = [];
  await bus2.consume(`bench-bus-lat-${run}`, { predictions: async (e) => { lat.push(Date.now() - Date.parse(e.time)); } });
  for (let i = 0; i < 50; i++) {
    await bus2.publisher.publishMany('predictions', Array.from({ length: 20 }, event));
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => lat.length >= 1000, 30_000);
  await bus2.close();
  return { p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
}

const runBoth = async () => {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const values = Array.from({ length: N }, () => { const e = event(); return { key: e.subject, value: JSON.stringify(e) }; });
  const events = Array.from({ length: N }, event);
  const t = { rawProduce: 0, rawConsume: 0, busProduce: 0, busConsume: 0, busIdempotent: 0 };
  for (let c = 0; c < chunks; c++) {
    const r = await rawChunk(producer, slice(values, c), c);
    t.rawProduce += r.produceSec;
    t.rawConsume += r.consumeSec;
    const b = await busChunk(slice(events, c), c);
    t.busProduce += b.produceSec;
    t.busConsume += b.consumeSec;
    t.busIdempotent += b.idempotentSec;
  }
  const rawLat = await rawLatency(producer, values[0]!.value);
  const busLat = await busLatency();
  await producer.disconnect();
  const keys = await redis.keys(`bench-${run}:*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  await redis.quit();
  return {
    raw: { producedPerSec: N / t.rawProduce, consumedPerSec: N / t.rawConsume, ...rawLat },
    bus: { producedPerSec: N / t.busProduce, consumedPerSec: N / t.busConsume, idempotentConsumedPerSec: N / t.busIdempotent, ...busLat },
  };
};

const loadBefore = loadavg();
const { raw, bus } = await runBoth();
const r = (x: number) => Math.round(x);
console.log(`\nbench:bus — ${N} events of ~300 bytes, batches of ${BATCH}, brokers ${brokers.length} (mock)`);
console.log('path      produced/s   consumed/s   e2e p50 ms   e2e p99 ms');
for (const [name, x] of [['kafkajs', raw], ['bus', bus]] as const) {
  console.log(`${name.padEnd(9)} ${String(r(x.producedPerSec)).padStart(10)}   ${String(r(x.consumedPerSec)).padStart(10)}   ${String(x.p50Ms).padStart(10)}   ${String(x.p99Ms).padStart(10)}`);
}
console.log(`bus/raw   ${(bus.producedPerSec / raw.producedPerSec).toFixed(2).padStart(10)}   ${(bus.consumedPerSec / raw.consumedPerSec).toFixed(2).padStart(10)}`);
console.log(`bus, idempotent handlers (validation, no dedupe store): ${r(bus.idempotentConsumedPerSec)} consumed/s = ${(bus.idempotentConsumedPerSec / raw.consumedPerSec).toFixed(2)} of raw`);
// Per kind of consumer group (dedupe on, idempotent handlers): batches, mean messages per batch, and
// the mean and total time a validated batch waited for its dedupe lookup.
const histogramTotals = async (name: string, kind: (group: string) => boolean) => {
  const values = (await metrics.getSingleMetric(name)?.get())?.values ?? [];
  const pick = (suffix: string) => values.filter((v) => v.metricName === `${name}_${suffix}` && kind(String(v.labels.group))).reduce((a, v) => a + v.value, 0);
  return { count: pick('count'), sum: pick('sum') };
};
const perBatch = async (kind: (group: string) => boolean) => {
  const size = await histogramTotals('flywheel_bus_batch_messages', kind);
  const wait = await histogramTotals('flywheel_bus_dedupe_wait_seconds', kind);
  return {
    batches: size.count, meanMessages: +(size.sum / Math.max(1, size.count)).toFixed(1),
    dedupeWaitMeanMs: +((wait.sum * 1000) / Math.max(1, wait.count)).toFixed(2), dedupeWaitTotalMs: Math.round(wait.sum * 1000),
  };
};
const batches = {
  dedupe: await perBatch((g) => g.startsWith('bench-bus-') && !g.startsWith('bench-bus-idem-') && !g.startsWith('bench-bus-lat-')),
  idempotent: await perBatch((g) => g.startsWith('bench-bus-idem-')),
};
console.log(`batches: dedupe groups ${batches.dedupe.batches} of ${batches.dedupe.meanMessages} messages on average, waiting ${batches.dedupe.dedupeWaitMeanMs} ms each for the dedupe lookup (${batches.dedupe.dedupeWaitTotalMs} ms in all); idempotent groups ${batches.idempotent.batches} of ${batches.idempotent.meanMessages}`);
const loadAfter = loadavg();
console.log(`consumers: 4 partitions each, partitionsConsumedConcurrently 4; load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
console.log(JSON.stringify({
  bench: 'bus', events: N, eventBytes: 300, batch: BATCH, chunkEvents: CHUNK,
  loadAverage: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadAfter.map((x) => +x.toFixed(2)) },
  raw: { producedPerSec: r(raw.producedPerSec), consumedPerSec: r(raw.consumedPerSec), p50Ms: raw.p50Ms, p99Ms: raw.p99Ms },
  bus: { producedPerSec: r(bus.producedPerSec), consumedPerSec: r(bus.consumedPerSec), idempotentConsumedPerSec: r(bus.idempotentConsumedPerSec), p50Ms: bus.p50Ms, p99Ms: bus.p99Ms, validation: true, dedupe: true },
  ratio: {
    produce: +(bus.producedPerSec / raw.producedPerSec).toFixed(3),
    consume: +(bus.consumedPerSec / raw.consumedPerSec).toFixed(3),
    consumeIdempotent: +(bus.idempotentConsumedPerSec / raw.consumedPerSec).toFixed(3),
  },
  batches,
}));
process.exit(0);
