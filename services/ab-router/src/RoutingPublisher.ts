import type { Redis } from 'ioredis';
import { RoutingTable, type ModelName } from '@flywheel/contracts';
import { routingKey } from '@flywheel/redis';
import type { PgExperimentStore } from './PgExperimentStore.js';

/** What a routing change says; the revision is assigned on publish. */
export interface RoutingChange {
  champion: string;
  challenger?: string | undefined;
  challengerShareBps: number;
  salt: string;
  experimentId?: string | undefined;
  /** A version serving scores in shadow (never answers), and the shadow test it belongs to. */
  shadow?: { version: string; experimentId: string } | undefined;
}

/**
 * A model's routing table: the next revision comes from PostgreSQL (`ab_routing`, the source of
 * truth, written in the decision's transaction together with the `routing_changed` outbox row, see
 * decisionTx.ts); Redis holds a cache of the latest table that serving reads at start.
 */
export class RoutingPublisher {
  constructor(private readonly deps: { redis: Redis; redisPrefix: string }) {}

  /** Assigns the next revision on `store` (the decision's transaction) and returns the table to announce. */
  async next(store: PgExperimentStore, model: ModelName, change: RoutingChange): Promise<RoutingTable> {
    let table: RoutingTable | undefined;
    await store.nextRouting(model, (revision) => {
      table = RoutingTable.parse({
        champion: change.champion,
        ...(change.challenger ? { challenger: change.challenger } : {}),
        challengerShareBps: change.challenger ? change.challengerShareBps : 0,
        salt: change.salt,
        ...(change.experimentId ? { experimentId: change.experimentId } : {}),
        ...(change.shadow ? { shadow: change.shadow.version, shadowExperimentId: change.shadow.experimentId } : {}),
        revision,
      });
      return table;
    });
    if (!table) throw new Error('routing revision was not assigned');
    return table;
  }

  /** Writes the committed table to the cache serving starts from. */
  async cache(model: string, table: RoutingTable): Promise<void> {
    await this.deps.redis.set(routingKey(this.deps.redisPrefix, model), JSON.stringify(table));
  }

  /** The cached table, parsed (Redis reads are a boundary too). */
  async current(model: string): Promise<RoutingTable | undefined> {
    const raw = await this.deps.redis.get(routingKey(this.deps.redisPrefix, model));
    return raw === null ? undefined : RoutingTable.parse(JSON.parse(raw));
  }
}
