import type { Redis } from 'ioredis';
import type { Publisher } from '@flywheel/bus';
import { makeEvent, RoutingTable, type ModelName } from '@flywheel/contracts';
import type { PgExperimentStore } from './PgExperimentStore.js';

/** What a routing change says; the revision is assigned on publish. */
export interface RoutingChange {
  champion: string;
  challenger?: string | undefined;
  challengerShareBps: number;
  salt: string;
  experimentId?: string | undefined;
}

/** Redis key serving reads the current routing table from (the cache of `ab_routing`). */
export const routingKey = (prefix: string, model: string): string => `${prefix}:routing:${model}`;

/**
 * Publishes a model's routing table: next revision from PostgreSQL (the source of truth), cached in
 * Redis for serving's start-up, then a `model-updates` routing_changed event serving applies.
 */
export class RoutingPublisher {
  constructor(
    private readonly deps: { store: PgExperimentStore; redis: Redis; publisher: Publisher; source: string; redisPrefix: string },
  ) {}

  async publish(model: ModelName, change: RoutingChange): Promise<RoutingTable> {
    let table: RoutingTable | undefined;
    await this.deps.store.nextRouting(model, (revision) => {
      table = RoutingTable.parse({
        champion: change.champion,
        ...(change.challenger ? { challenger: change.challenger } : {}),
        challengerShareBps: change.challenger ? change.challengerShareBps : 0,
        salt: change.salt,
        ...(change.experimentId ? { experimentId: change.experimentId } : {}),
        revision,
      });
      return table;
    });
    if (!table) throw new Error('routing revision was not assigned');
    await this.deps.redis.set(routingKey(this.deps.redisPrefix, model), JSON.stringify(table));
    await this.deps.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: this.deps.source, subject: model, data: { action: 'routing_changed', routing: table } }));
    return table;
  }

  /** The cached table, parsed (Redis reads are a boundary too). */
  async current(model: string): Promise<RoutingTable | undefined> {
    const raw = await this.deps.redis.get(routingKey(this.deps.redisPrefix, model));
    return raw === null ? undefined : RoutingTable.parse(JSON.parse(raw));
  }
}
