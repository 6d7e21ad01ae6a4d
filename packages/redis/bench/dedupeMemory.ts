// bench:dedupe — Redis memory the consume loop's dedupe keeps per prediction. Marks N prediction
// event ids for the three consumer groups that read `predictions`, under a private key prefix,
// sums MEMORY USAGE of the keys it made, deletes them, and does the same with the earlier layout
// (36-character ids, value "1") for comparison. Then the CPU a batch costs: a check of three
// slices and a mark, through RedisDedupe (one packed argument per call) and through the earlier
// pipeline (one argument per id), client and Redis server separately. Last line: one JSON object.
import { randomUUID } from 'node:crypto';
import { createRedis, DEFAULT_DEDUPE_WINDOW_SECONDS, RedisDedupe, type Redis } from '@flywheel/redis';

const N = Number(process.env.BENCH_PREDICTIONS ?? 200_000);
const BATCH = 500; // the consume loop marks a fetched batch at once
const GROUPS = ['aggregator', 'drift-monitor', 'ab-router'];
const redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { name: 'bench-dedupe' });
const prefix = `bench-dedupe-${randomUUID().slice(0, 8)}`;

const keysOf = async (r: Redis, pattern: string): Promise<string[]> => {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    out.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return out;
};

/** Bytes the keys under `pattern` take (MEMORY USAGE, every field counted), then deletes them. */
const measureAndDelete = async (pattern: string): Promise<number> => {
  const keys = await keysOf(redis, pattern);
  let bytes = 0;
  for (const k of keys) bytes += Number(await redis.call('MEMORY', 'USAGE', k, 'SAMPLES', '0'));
  if (keys.length) await redis.del(...keys);
  return bytes;
};

const ids = Array.from({ length: N }, () => randomUUID());
const now = () => 1_700_000_000_000; // one time slice; the steady state holds up to 1.5 windows per group

const dedupe = new RedisDedupe(redis, { prefix: `${prefix}-c`, now });
for (let i = 0; i < N; i += BATCH) {
  const batch = ids.slice(i, i + BATCH);
  await Promise.all(GROUPS.map((g) => dedupe.mark(g, batch)));
}
const compactBytes = await measureAndDelete(`${prefix}-c:*`);

// The layout before: the id's 36 characters as the field, "1" as the value.
for (let i = 0; i < N; i += BATCH) {
  const fields = ids.slice(i, i + BATCH).flatMap((id) => [id, '1']);
  await Promise.all(GROUPS.map((g) => redis.hset(`${prefix}-t:processed:${g}:0`, ...fields)));
}
const textBytes = await measureAndDelete(`${prefix}-t:*`);

// CPU per id of seen + mark: this process (ioredis encoding, the packing) and the Redis server.
const serverCpuSeconds = async (): Promise<number> => {
  const info = await redis.info('cpu');
  const field = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
};
const CPU_IDS = Math.min(N, 100_000);
const cpuOf = async (label: string, run: (batch: string[]) => Promise<unknown>) => {
  const s0 = await serverCpuSeconds();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < CPU_IDS; i += BATCH) await run(ids.slice(i, i + BATCH));
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const s1 = await serverCpuSeconds();
  const perId = (us: number) => Math.round((us / CPU_IDS) * 100) / 100;
  return { [label]: { clientCpuUsPerId: perId(c.user + c.system), serverCpuUsPerId: perId((s1 - s0) * 1e6), wallUsPerId: perId(wall * 1000) } };
};
const packed = new RedisDedupe(redis, { prefix: `${prefix}-p`, ttlSeconds: 600 });
// The layout and commands before: three HMGETs and an HSET + EXPIRE, each id its own argument.
const perArgument = async (batch: string[]) => {
  const fields = batch.map((id) => Buffer.from(id.replaceAll('-', ''), 'hex'));
  const check = redis.pipeline();
  for (let back = 0; back < 3; back++) check.hmget(`${prefix}-a:processed:g:${back}`, ...fields);
  await check.exec();
  await redis.pipeline().hset(`${prefix}-a:processed:g:0`, ...fields.flatMap((f) => [f, ''])).expire(`${prefix}-a:processed:g:0`, 900).exec();
};
const cpu = {
  ...(await cpuOf('perArgument', perArgument)),
  ...(await cpuOf('packed', async (batch) => { await packed.seen('g', batch); await packed.mark('g', batch); })),
  ...(await cpuOf('perArgumentAgain', perArgument)),
};
await measureAndDelete(`${prefix}-p:*`);
await measureAndDelete(`${prefix}-a:*`);
await redis.quit();

const per1k = (b: number) => Math.round((b / N) * 1000);
const windowHours = DEFAULT_DEDUPE_WINDOW_SECONDS / 3600;
const perMillion = Math.round((compactBytes / N) * 1_000_000);
console.log(JSON.stringify({
  bench: 'dedupe-memory', predictions: N, groups: GROUPS.length,
  bytesPer1kPredictions: per1k(compactBytes), bytesPerMillionPredictions: perMillion,
  textIdsBytesPer1kPredictions: per1k(textBytes),
  windowHours, idsKeptForHours: [windowHours, 1.5 * windowHours],
  // Steady state: ids live between one and 1.5 windows, so at most 1.5 windows of predictions.
  mbAt30PerSecond: Math.round((1.5 * DEFAULT_DEDUPE_WINDOW_SECONDS * 30 * perMillion) / 1e6 / 1e6),
  cpuBatch: BATCH, cpuIds: CPU_IDS, cpu,
}));
