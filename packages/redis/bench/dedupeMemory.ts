// bench:dedupe — Redis memory the consume loop's dedupe keeps per prediction. Marks N prediction
// event ids for the three consumer groups that read `predictions`, under a private key prefix,
// sums MEMORY USAGE of the keys it made, deletes them, and does the same with the earlier layout
// (36-character ids, value "1") for comparison. Last line: one JSON object.
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
}));
