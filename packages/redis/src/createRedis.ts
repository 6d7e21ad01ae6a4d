import { Redis } from 'ioredis';

export type { Redis };

/**
 * A Redis client that queues commands while reconnecting (so a blip is a delay, not an error)
 * but fails commands after a bounded number of retries so callers see DependencyDown.
 */
export const createRedis = (url: string, opts: { name?: string } = {}): Redis =>
  new Redis(url, {
    connectionName: opts.name ?? 'flywheel',
    maxRetriesPerRequest: 3,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
