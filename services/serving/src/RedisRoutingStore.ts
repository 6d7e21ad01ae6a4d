import { RoutingTable } from '@flywheel/contracts';
import { routingKey, type Redis } from '@flywheel/redis';
import type { Logger } from '@flywheel/runtime';
import type { RoutingStore } from './ports.js';

/**
 * Reads the routing table cache the ab-router writes (key: routingKey of @flywheel/redis). A value
 * that fails the schema is ignored with a warning (the registry's champion then serves alone)
 * rather than stopping serving: Redis is only a cache.
 */
export class RedisRoutingStore implements RoutingStore {
  /** `prefix` is the deployment's REDIS_PREFIX (the ab-router writes under the same one). */
  constructor(private readonly redis: Redis, private readonly logger: Logger, private readonly prefix: string) {}

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
