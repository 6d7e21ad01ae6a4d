import { makeEvent, ModelName, type DataOf, type RoutingTable } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool } from '@flywheel/postgres';
import { PgExperimentStore } from './PgExperimentStore.js';
import type { RoutingChange, RoutingPublisher } from './RoutingPublisher.js';

/** One transaction of a decision: the ab-router's rows and the `model-updates` events announcing them. */
export interface DecisionTx {
  /** The experiment store on this transaction. */
  store: PgExperimentStore;
  /** Enqueues a `model-updates` event in the outbox; it is published only if the transaction commits. */
  announce(model: string, data: DataOf<'modelUpdates'>): Promise<void>;
  /** Assigns the model's next routing revision and announces it (`routing_changed`); the Redis cache follows the commit. */
  route(model: string, change: RoutingChange): Promise<RoutingTable>;
}

/** Runs `fn` in one transaction (see createDecisionTx). */
export type RunDecision = <T>(fn: (tx: DecisionTx) => Promise<T>) => Promise<T>;

/** The routing of a model without an experiment: everyone gets `champion`. */
export const championOnly = (tx: DecisionTx, model: string, champion: string): Promise<RoutingTable> =>
  tx.route(model, { champion, challengerShareBps: 0, salt: model });

/**
 * The ab-router's unit of change. Experiment, champion and routing rows commit together with the
 * outbox rows of their events (published by the shared relay), so an event is never lost or sent
 * for a change that rolled back. After the commit the relay is nudged and the routing tables are
 * written to the Redis cache serving reads at start; a crash before that cache write leaves the
 * previous table cached until the next change (serving applies the event meanwhile).
 */
export const createDecisionTx = (deps: { pool: Pool; routing: RoutingPublisher; source: string; committed?: () => void }): RunDecision =>
  async <T>(fn: (tx: DecisionTx) => Promise<T>): Promise<T> => {
    const tables: [string, RoutingTable][] = [];
    const out = await withTransaction(deps.pool, async (client) => {
      const store = new PgExperimentStore(client);
      const announce = async (model: string, data: DataOf<'modelUpdates'>): Promise<void> => {
        await enqueueInTx(client, { topic: 'modelUpdates', event: makeEvent('modelUpdates', { source: deps.source, subject: model, data }) });
      };
      return fn({
        store,
        announce,
        route: async (model, change) => {
          const table = await deps.routing.next(store, ModelName.parse(model), change);
          await announce(model, { action: 'routing_changed', routing: table });
          tables.push([model, table]);
          return table;
        },
      });
    });
    deps.committed?.();
    for (const [model, table] of tables) await deps.routing.cache(model, table);
    return out;
  };
