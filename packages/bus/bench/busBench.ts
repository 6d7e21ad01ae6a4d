// bench:bus — 100,000 events of ~300 bytes through the bus (validation + Redis dedupe on) and
// through raw kafkajs on the same broker, in the same run. Last line: one JSON object.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { makeEvent, type EventOf } from '@flywheel/contracts';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { createRedis, RedisDedupe } from '@flywheel/redis';
import { createKafkaBus } from '@flywheel/bus';

const N = Number(process.env.BENCH_EVENTS ?? 100_000);
const BATCH = 100;
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
const event = (): EventOf<'predictions'> => {
  const e = makeEvent('predictions', {
    source: '/flywheel/serving/bench', subject: `bench-model-${seq++ % 64}`,
    data: { predictionId: randomUUID() as never, modelVersion: '1.0.0' as never, variant: 'champion', text: 'x', label: 'electronics', confidence: 0.93, latencyMs: 0.2 },
  });
  const pad = 300 - JSON.stringify(e).length;
  return { ...e, data: { ...e.data, text: 'w'.repeat(Math.max(1, pad + 1)) } };
};

async function benchRaw() {
  const kafka = new Kafka({ brokers, clientId: `bench-raw-${run}`, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  const values = Array.from({ length: N }, () => { const e = event(); return { key: e.subject, value: JSON.stringify(e) }; });
  let produceSec = 0;
  let consumeSec = 0;
  const consumers = [];
  for (let c = 0; c < chunks; c++) {
    const topic = `bench-raw-${run}-${c}`;
    const part = values.slice(c * CHUNK, Math.min(N, (c + 1) * CHUNK));
    const t0 = performance.now();
    for (let i = 0; i < part.length; i += BATCH) await producer.send({ topic, acks: -1, messages: part.slice(i, i + BATCH) });
    produceSec += (performance.now() - t0) / 1000;
    let got = 0;
    let c0 = 0;
    const consumer = kafka.consumer({ groupId: `bench-raw-${run}-${c}`, maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ partitionsConsumedConcurrently: 4, eachBatch: async ({ batch }) => { if (c0 === 0) c0 = performance.now(); got += batch.messages.length; } });
    await until(() => got >= part.length, 60_000).catch((e) => { console.error("got", got, "of", part.length); throw e; });
    consumeSec += (performance.now() - c0) / 1000;
  }
  // Latency: a steady stream of timestamped messages while the consumer runs.
  const lat: number[] = [];
  const ltopic = `bench-raw-${run}-lat`;
  const lc = kafka.consumer({ groupId: `bench-raw-lat-${run}`, maxWaitTimeInMs: 100 });
  await lc.connect();
  await lc.subscribe({ topic: ltopic, fromBeginning: true });
  await lc.run({ eachMessage: async ({ message }) => { lat.push(Date.now() - Number(message.headers?.t?.toString())); } });
  await new Promise((r) => setTimeout(r, 4000));
  for (let i = 0; i < 50; i++) {
    await producer.send({ topic: ltopic, messages: Array.from({ length: 20 }, () => ({ key: 'k', value: values[0]!.value, headers: { t: String(Date.now()) } })) });
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => lat.length >= 1000, 30_000);
  await Promise.all([...consumers.map((c) => c.disconnect()), lc.disconnect(), producer.disconnect()]);
  return { producedPerSec: N / produceSec, consumedPerSec: N / consumeSec, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
}

async function benchBus() {
  const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const prefix = `bench-bus-${run}-`;
  const mk = (topicPrefix: string) => createKafkaBus({ brokers, clientId: `bench-${run}`, logger, metrics: createMetricsRegistry('bench'), dedupe: new RedisDedupe(redis, { prefix: `bench-${run}`, ttlSeconds: 600 }), topicPrefix });
  const events = Array.from({ length: N }, event);
  let produceSec = 0;
  let consumeSec = 0;
  for (let ch = 0; ch < chunks; ch++) {
    const bus = mk(`${prefix}${ch}-`);
    const part = events.slice(ch * CHUNK, Math.min(N, (ch + 1) * CHUNK));
    const t0 = performance.now();
    for (let i = 0; i < part.length; i += BATCH) await bus.publisher.publishMany('predictions', part.slice(i, i + BATCH));
    produceSec += (performance.now() - t0) / 1000;
    let got = 0;
    let c0 = 0;
    await bus.consume(`bench-bus-${run}-${ch}`, { predictions: async () => { if (c0 === 0) c0 = performance.now(); got++; } });
    await until(() => got >= part.length, 60_000).catch((e) => { console.error("got", got, "of", part.length); throw e; });
    consumeSec += (performance.now() - c0) / 1000;
    await bus.close();
  }
  // Latency through the bus: the envelope's time is set at publish.
  const bus2 = createKafkaBus({ brokers, clientId: `bench-lat-${run}`, logger, metrics: createMetricsRegistry('bench'), dedupe: new RedisDedupe(redis, { prefix: `bench-${run}`, ttlSeconds: 600 }), topicPrefix: `${prefix}lat-` });
  const lat: number[] = [];
  await bus2.consume(`bench-bus-lat-${run}`, { predictions: async (e) => { lat.push(Date.now() - Date.parse(e.time)); } });
  for (let i = 0; i < 50; i++) {
    await bus2.publisher.publishMany('predictions', Array.from({ length: 20 }, event));
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => lat.length >= 1000, 30_000);
  await bus2.close();
  const keys = await redis.keys(`bench-${run}:*`);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
  await redis.quit();
  return { producedPerSec: N / produceSec, consumedPerSec: N / consumeSec, p50Ms: pct(lat, 50), p99Ms: pct(lat, 99) };
}

const raw = await benchRaw();
const bus = await benchBus();
const r = (x: number) => Math.round(x);
console.log(`\nbench:bus — ${N} events of ~300 bytes, batches of ${BATCH}, brokers ${brokers.length} (mock)`);
console.log('path      produced/s   consumed/s   e2e p50 ms   e2e p99 ms');
for (const [name, x] of [['kafkajs', raw], ['bus', bus]] as const) {
  console.log(`${name.padEnd(9)} ${String(r(x.producedPerSec)).padStart(10)}   ${String(r(x.consumedPerSec)).padStart(10)}   ${String(x.p50Ms).padStart(10)}   ${String(x.p99Ms).padStart(10)}`);
}
console.log(`bus/raw   ${(bus.producedPerSec / raw.producedPerSec).toFixed(2).padStart(10)}   ${(bus.consumedPerSec / raw.consumedPerSec).toFixed(2).padStart(10)}`);
console.log(JSON.stringify({
  bench: 'bus', events: N, eventBytes: 300,
  raw: { producedPerSec: r(raw.producedPerSec), consumedPerSec: r(raw.consumedPerSec), p50Ms: raw.p50Ms, p99Ms: raw.p99Ms },
  bus: { producedPerSec: r(bus.producedPerSec), consumedPerSec: r(bus.consumedPerSec), p50Ms: bus.p50Ms, p99Ms: bus.p99Ms, validation: true, dedupe: true },
  ratio: { produce: +(bus.producedPerSec / raw.producedPerSec).toFixed(3), consume: +(bus.consumedPerSec / raw.consumedPerSec).toFixed(3) },
}));
process.exit(0);
