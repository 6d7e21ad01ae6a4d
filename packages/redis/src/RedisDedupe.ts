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


/** Buckets per window: an id is remembered between one window and one window plus a slice. */
const SLICES = 2;

/** Hex digit values by character code (-1: not a hex digit). */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 16; c++) {
  HEX[c.toString(16).charCodeAt(0)] = c;
  HEX[c.toString(16).toUpperCase().charCodeAt(0)] = c;
}
const DASHES = [8, 13, 18, 23];

/**
 * Writes a UUID (either case) as its 16 bytes at `at` and returns true, or returns false (leaving
 * junk) when `id` is not one. Event ids are UUIDs: 16 bytes per field instead of 36 characters.
 */
function writeUuid(id: string, out: Buffer, at: number): boolean {
  if (id.length !== 36) return false;
  let o = at;
  for (let i = 0; i < 36; ) {
    if (i === DASHES[0] || i === DASHES[1] || i === DASHES[2] || i === DASHES[3]) {
      if (id.charCodeAt(i) !== 45) return false;
      i++;
      continue;
    }
    const hi = HEX[id.charCodeAt(i)] ?? -1;
    const lo = HEX[id.charCodeAt(i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    out[o++] = (hi << 4) | lo;
    i += 2;
  }
  return true;
}

/**
 * Ids travel to Redis as one argument: each id's bytes behind a 2-byte big-endian length. One
 * argument per batch instead of one per id is what makes a batch cheap for the client: encoding
 * thousands of small arguments was most of a consumer's dedupe cost (`pnpm bench:dedupe`). A UUID
 * is written straight into the one buffer, with no regex, string copy or small buffer per id.
 */
export const packIds = (ids: readonly string[]): Buffer => {
  // At most 2 + 3 bytes per UTF-16 unit (UTF-8's worst case); a UUID then takes 18 of its 110.
  let size = 0;
  for (const id of ids) size += 2 + 3 * id.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const id of ids) {
    if (writeUuid(id, out, at + 2)) {
      out.writeUInt16BE(16, at);
      at += 18;
      continue;
    }
    const len = out.write(id, at + 2, 'utf8');
    if (len > 0xffff) throw new Error(`event id of ${len} bytes is too long to dedupe (at most 65,535); ids are UUIDs, so this is a bug in the producer`);
    out.writeUInt16BE(len, at);
    at += 2 + len;
  }
  return out.subarray(0, at);
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
