import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Bus } from '@flywheel/bus';
import { createHttpApp, listen } from '@flywheel/http';
import { runMigrations, type Pool } from '@flywheel/postgres';
import type { Logger } from '@flywheel/runtime';
import { createAbRouterMetrics } from './abRouterMetrics.js';
import { adminRoutes } from './adminRoutes.js';
import { createAbRouter, type AbRouter, type HealthSettings } from './createAbRouter.js';
import type { ExperimentSettingsInput } from './experimentSettings.js';
import { PgExperimentStore } from './PgExperimentStore.js';
import type { Registry } from './ports.js';
import { RoutingPublisher } from './RoutingPublisher.js';

/** SQL migrations of the ab-router (applied at start, history table `ab_router_migrations`). */
export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export interface AbRouterOptions {
  pool: Pool;
  redis: Redis;
  bus: Bus;
  registry: Registry;
  logger: Logger;
  metrics: MetricsRegistry;
  adminToken: string;
  /** HTTP port; 0 picks a free one. */
  port: number;
  redisPrefix?: string;
  consumerGroup?: string;
  evalIntervalMs: number;
  settings: { defaults: ExperimentSettingsInput; perModel: Readonly<Record<string, ExperimentSettingsInput>> };
  health: HealthSettings;
}

/** A started ab-router: its core, its bound port, and a close that undoes the start in reverse. */
export interface RunningAbRouter {
  router: AbRouter;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the ab-router in-process on clients the caller owns: migrations, the consumer of
 * `predictions`, `feedback-events` and `model-updates`, the schedule and the admin API.
 * main.ts and the integration tests both use it; closing leaves the clients open.
 */
export const startAbRouter = async (o: AbRouterOptions): Promise<RunningAbRouter> => {
  await runMigrations(o.pool, migrationsDir, { table: 'ab_router_migrations' });
  const store = new PgExperimentStore(o.pool);
  const source = '/flywheel/ab-router';
  const routing = new RoutingPublisher({ store, redis: o.redis, publisher: o.bus.publisher, source, redisPrefix: o.redisPrefix ?? 'flywheel' });
  const router = createAbRouter({
    store, routing, registry: o.registry, publisher: o.bus.publisher, logger: o.logger, metrics: createAbRouterMetrics(o.metrics),
    source, settings: o.settings, health: o.health, evalIntervalMs: o.evalIntervalMs,
  });
  // Decisions a crash left half-applied are finished before any new event is handled.
  await router.resumeDecisions({ graceMs: 0 });
  const consumer = await o.bus.consume(o.consumerGroup ?? 'ab-router', router.handlers);
  router.start();
  const app = createHttpApp({
    service: 'ab-router', logger: o.logger, metrics: o.metrics,
    readiness: [
      { name: 'postgres', check: async () => (await o.pool.query('SELECT 1')).rowCount === 1 },
      { name: 'redis', check: async () => (await o.redis.ping()) === 'PONG' },
    ],
    routes: adminRoutes(router, o.adminToken),
  });
  const server = await listen(app, o.port);
  return {
    router,
    port: server.port,
    close: async () => {
      await server.close();
      await router.stop();
      await consumer.stop();
    },
  };
};
