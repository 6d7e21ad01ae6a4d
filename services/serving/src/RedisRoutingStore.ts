import { RoutingTable } from '@flywheel/contracts';
import type { Redis } from '@flywheel/redis';
import type { Logger } from '@flywheel/runtime';
import type { RoutingStore } from './ports.js';

/** Key of a model's routing table in Redis (written by the ab-router). */
export const routingKey = (prefix: string, model: string): string => `${prefix}routing:${model}`;

/**
 * Reads the routing table cache. A value that fails the schema is ignored with a warning (the
 * registry's champion then serves alone) rather than stopping serving: Redis is only a cache.
 */
export class RedisRoutingStore implements RoutingStore {
  constructor(private readonly redis: Redis, private readonly logger: Logger, private readonly prefix = 'flywheel:') {}

  async get(model: string): Promise<RoutingTable | undefined> {
    const raw = await this.redis.get(routingKey(this.prefix, model));
    if (raw === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = RoutingTable.safeParse(json);
    if (!parsed.success) {
      this.logger.warn({ model, issues: parsed.error?.issues }, 'routing table in Redis is invalid; serving the registry champion alone until a routing_changed arrives');
      return undefined;
    }
    return parsed.data;
  }
}
