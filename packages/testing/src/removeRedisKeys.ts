import type { Redis } from '@flywheel/redis';

/** Every key matching `pattern`, by SCAN (KEYS would block a shared server). */
export const scanKeys = async (redis: Redis, pattern: string): Promise<string[]> => {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    for (const k of batch) keys.add(k);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
};

/** Deletes every key matching `pattern` and checks none is left. Returns how many it deleted. */
export const removeRedisKeys = async (redis: Redis, pattern: string): Promise<number> => {
  const keys = await scanKeys(redis, pattern);
  for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500));
  const left = await scanKeys(redis, pattern);
  if (left.length > 0) throw new Error(`${left.length} keys matching ${pattern} came back while deleting (is a consumer of this test still running?): ${left.slice(0, 5).join(', ')}`);
  return keys.length;
};
