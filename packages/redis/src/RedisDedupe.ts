import type { Redis } from 'ioredis';

/** Remembers which event ids a consumer group has processed. */
export interface Dedupe {
  /** For each id, whether it was already processed. */
  seen(group: string, ids: readonly string[]): Promise<boolean[]>;
  /** Records ids as processed. */
  mark(group: string, ids: readonly string[]): Promise<void>;
}

/**
 * How long an id is remembered by default: 6 hours. What the bus can deliver twice is (a) a batch
 * whose offsets were not committed when a consumer crashed or lost its partitions, redelivered as
 * soon as the group rebalances (seconds to minutes), and (b) an outbox row published but not yet
 * marked sent when its relay crashed, re-published when a relay next runs (minutes). Six hours
 * covers both with room for a consumer group that is down for a few hours; a consumer stopped for
 * longer than the window may apply an old event twice, which the handlers' own idempotency
 * (unique ids in PostgreSQL) absorbs.
 */
export const DEFAULT_DEDUPE_WINDOW_SECONDS = 6 * 3600;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID as its 16 bytes (event ids are UUIDs; 16 bytes instead of 36 characters), anything else as is. */
export const compactId = (id: string): Buffer | string => (UUID.test(id) ? Buffer.from(id.replaceAll('-', ''), 'hex') : id);

/** Buckets per window: an id is remembered between one window and one window plus a slice. */
const SLICES = 2;

/**
 * Ids travel to Redis as one argument: each id's bytes behind a 2-byte big-endian length. One
 * argument per batch instead of one per id is what makes a batch cheap for the client: encoding
 * thousands of small arguments was most of a consumer's dedupe cost (`pnpm bench:dedupe`).
 */
export const packIds = (ids: readonly string[]): Buffer => {
  const parts: Buffer[] = [];
  for (const id of ids) {
    const c = compactId(id);
    const bytes = typeof c === 'string' ? Buffer.from(c, 'utf8') : c;
    if (bytes.length > 0xffff) throw new Error(`event id of ${bytes.length} bytes is too long to dedupe (at most 65,535); ids are UUIDs, so this is a bug in the producer`);
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(bytes.length, 0);
    parts.push(len, bytes);
  }
  return Buffer.concat(parts);
};

// Shared by both scripts: ARGV[1] unpacked into a table of ids (the layout packIds writes).
const UNPACK = `
local packed = ARGV[1]
local ids = {}
local pos = 1
while pos <= #packed do
  local len = string.byte(packed, pos) * 256 + string.byte(packed, pos + 1)
  ids[#ids + 1] = string.sub(packed, pos + 2, pos + 1 + len)
  pos = pos + 2 + len
end
-- Lua's unpack takes a few thousand values at most: commands go out in chunks.
local CHUNK = 1000
`;

/** KEYS: the slices to look in. Returns one character per id, '1' where any slice holds it. */
const SEEN_SCRIPT = `${UNPACK}
local found = {}
for i = 1, #ids do found[i] = '0' end
for _, key in ipairs(KEYS) do
  for first = 1, #ids, CHUNK do
    local last = math.min(first + CHUNK - 1, #ids)
    local got = redis.call('HMGET', key, unpack(ids, first, last))
    for j = 1, #got do if got[j] then found[first + j - 1] = '1' end end
  end
end
return table.concat(found)
`;

/** KEYS[1]: this slice; ARGV[2]: its lifetime in seconds. Fields get an empty value. */
const MARK_SCRIPT = `${UNPACK}
for first = 1, #ids, CHUNK do
  local args = {}
  for i = first, math.min(first + CHUNK - 1, #ids) do
    args[#args + 1] = ids[i]
    args[#args + 1] = ''
  end
  redis.call('HSET', KEYS[1], unpack(args))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return #ids
`;

type DedupeCommands = {
  flywheelDedupeSeen(...keysThenPacked: (string | Buffer)[]): Promise<string>;
  flywheelDedupeMark(key: string, packed: Buffer, ttlSeconds: number): Promise<number>;
};

/**
 * Processed ids as fields of one Redis hash per group and time slice (half a window). A batch is
 * one script call to check (this slice and the two before) and one to record (HSET of every id,
 * EXPIRE), with all its ids in one packed argument. An id is remembered for between one and one
 * and a half `ttlSeconds` (the window), so memory holds at most 1.5 windows of ids per group.
 * Fields are compact (16 bytes per UUID, empty value): `pnpm bench:dedupe` measures the bytes per
 * prediction. The slices of a group are different keys, so under Redis Cluster they would need a
 * hash tag; the platform runs one Redis.
 */
export class RedisDedupe implements Dedupe {
  private readonly sliceSeconds: number;
  private readonly scripts: DedupeCommands;
  constructor(
    redis: Redis,
    private readonly opts: { ttlSeconds?: number; prefix?: string; now?: () => number } = {},
  ) {
    this.sliceSeconds = (opts.ttlSeconds ?? DEFAULT_DEDUPE_WINDOW_SECONDS) / SLICES;
    // ioredis sends EVALSHA and falls back to EVAL when Redis lost its script cache (a restart).
    if (!('flywheelDedupeSeen' in redis)) {
      redis.defineCommand('flywheelDedupeSeen', { numberOfKeys: SLICES + 1, lua: SEEN_SCRIPT });
      redis.defineCommand('flywheelDedupeMark', { numberOfKeys: 1, lua: MARK_SCRIPT });
    }
    this.scripts = redis as unknown as DedupeCommands;
  }

  private slice(): number {
    return Math.floor((this.opts.now ?? Date.now)() / 1000 / this.sliceSeconds);
  }

  private key(group: string, slice: number): string {
    return `${this.opts.prefix ?? 'flywheel'}:processed:${group}:${slice}`;
  }

  async seen(group: string, ids: readonly string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const now = this.slice();
    const keys = Array.from({ length: SLICES + 1 }, (_, back) => this.key(group, now - back));
    const found = await this.scripts.flywheelDedupeSeen(...keys, packIds(ids));
    if (found.length !== ids.length) throw new Error(`the dedupe script answered for ${found.length} of ${ids.length} ids; retry the batch`);
    return ids.map((_, i) => found[i] === '1');
  }

  async mark(group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    // Lives through the slices that still look back at it.
    await this.scripts.flywheelDedupeMark(this.key(group, this.slice()), packIds(ids), Math.ceil(this.sliceSeconds * (SLICES + 1)));
  }
}
