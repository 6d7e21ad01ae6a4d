import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { createKafkaBus, kafkaSecurityFromConfig, type Bus, type ConsumeOptions, type Handlers } from '@flywheel/bus';
import { createHttpApp, listen, type FrontHandler, type ReadinessCheck } from '@flywheel/http';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool, runMigrations, withSearchPath, type Pool } from '@flywheel/postgres';
import { createRedis, RedisDedupe, type Redis } from '@flywheel/redis';
import { armFailpoints, createLogger, createMetricsRegistry, createShutdown, type Closer, type Logger, type S3Config } from '@flywheel/runtime';
import { createSchedule, type Schedule } from './schedule.js';
import type { ServiceConfig } from './serviceConfig.js';

export interface ServiceOptions<C extends ServiceConfig> {
  /** The service's name: logger, metrics label, client ids, consumer groups and the PostgreSQL application name. */
  name: string;
  config: C & Partial<S3Config>;
  /** Largest JSON body the HTTP API accepts (default 1 MB). */
  bodyLimit?: string;
  /** SIGTERM/SIGINT run the shutdown and exit (default true; in-process tests pass false and call stop()). */
  handleSignals?: boolean;
}

/** A running service: what start() bound. */
export interface Started {
  port: number;
}

/**
 * The skeleton every service is built on (in the spirit of Backstage's createBackend). main.ts
 * creates it from the parsed config, builds its domain objects over the stores it hands out, then
 * declares what runs — migrations, consumers, schedules, routes — and calls start(). The skeleton
 * owns the rest: logger, metrics, test failpoints, one client per store (created on first use, with
 * its readiness check and its closer), the HTTP server with /healthz, /readyz and /metrics, signal
 * handling, and shutdown in reverse order (HTTP, schedules, consumers, then the stores).
 */
export const createService = <C extends ServiceConfig>(o: ServiceOptions<C>) => {
  const { name, config } = o;
  const logger: Logger = createLogger({ service: name, level: config.LOG_LEVEL });
  // Checked at once, not on first use of the bus: a half-set SASL/TLS config is a ConfigError at start.
  const kafkaSecurity = kafkaSecurityFromConfig(config);
  const failpoints = armFailpoints(config.FLYWHEEL_FAILPOINTS);
  if (failpoints.length > 0) logger.warn({ failpoints }, 'test failpoints armed: this process will crash on purpose');
  const metrics: Registry = createMetricsRegistry(name);
  const shutdown = createShutdown(logger);
  const readiness: ReadinessCheck[] = [];
  const consumers: { group: string; handlers: Handlers; options: ConsumeOptions | undefined }[] = [];
  const schedules: Schedule[] = [];
  const routeSets: ((app: Express) => void)[] = [];
  let front: FrontHandler | undefined;
  const stopLast: Closer[] = [];
  let started = false;

  const once = <T>(make: () => T): (() => T) => {
    let v: T | undefined;
    return () => (v ??= make());
  };
  const pool = once((): Pool => {
    const p = createPool(withSearchPath(config.POSTGRES_URL, config.PG_SCHEMA), { max: config.PG_POOL_SIZE, applicationName: name });
    shutdown.onShutdown(() => p.end());
    readiness.push({ name: 'postgres', check: async () => (await p.query('SELECT 1')).rowCount === 1 });
    return p;
  });
  const redis = once((): Redis => {
    const r = createRedis(config.REDIS_URL, { name });
    shutdown.onShutdown(() => r.quit());
    readiness.push({ name: 'redis', check: async () => (await r.ping()) === 'PONG' });
    return r;
  });
  const bus = once((): Bus => {
    const b = createKafkaBus({
      brokers: config.KAFKA_BROKERS, clientId: name, logger, metrics, topicPrefix: config.TOPIC_PREFIX,
      dedupe: new RedisDedupe(redis(), { prefix: config.REDIS_PREFIX, ttlSeconds: Math.round(config.DEDUPE_WINDOW_HOURS * 3600) }),
      sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS, rebalanceTimeoutMs: config.KAFKA_REBALANCE_TIMEOUT_MS, security: kafkaSecurity,
    });
    shutdown.onShutdown(() => b.close());
    return b;
  });
  const objectStore = once(async (): Promise<MinioObjectStore> => {
    const { S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET, S3_REGION } = config;
    if (!S3_ENDPOINT || !S3_ACCESS_KEY || !S3_SECRET_KEY || !S3_BUCKET) {
      throw new Error(`${name} uses the object store but its config has no S3_* settings: merge S3Config into its config schema`);
    }
    return MinioObjectStore.fromSettings({ endpoint: S3_ENDPOINT, accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY, bucket: S3_BUCKET, region: S3_REGION ?? 'us-east-1' });
  });

  return {
    name,
    config,
    logger,
    metrics,
    /** PostgreSQL pool on the deployment's schema. */
    pool,
    redis,
    bus,
    /** The S3 bucket of model artifacts (created if missing). */
    objectStore,
    /** Applies SQL migrations now (under an advisory lock; history in `table`). */
    migrate: async (dir: string, table: string): Promise<void> => {
      // Into PG_SCHEMA by name: a schema that does not exist yet is not on the search path, and current_schema() would say public.
      await runMigrations(pool(), dir, { table, schema: config.PG_SCHEMA });
    },
    /** Consumes these topics as `group` once started (the one consume loop of the bus). */
    consume: (group: string, handlers: Handlers, options?: ConsumeOptions): void => {
      consumers.push({ group, handlers, options });
    },
    /** Runs `run` every `everyMs` once started; returns the schedule (runNow() for on-demand runs). */
    every: (scheduleName: string, everyMs: number, run: () => Promise<unknown>): Schedule => {
      const s = createSchedule({ name: scheduleName, everyMs, run, logger, metrics });
      schedules.push(s);
      return s;
    },
    /** Adds routes to the HTTP API (after /healthz, /readyz and /metrics). */
    routes: (add: (app: Express) => void): void => {
      routeSets.push(add);
    },
    /** Puts a handler in front of express on the same port (serving's bare node:http predict routes); what it declines goes to express. */
    front: (handler: FrontHandler): void => {
      front = handler;
    },
    /** Adds a readiness check to /readyz (the stores add their own). */
    ready: (check: ReadinessCheck): void => {
      readiness.push(check);
    },
    /** Closes a component the service built (a relay, a model host) before the stores close. */
    onStop: (close: Closer): void => {
      stopLast.push(close);
    },
    /** Starts consumers, schedules and the HTTP API, and hands the process to the signal handlers. */
    start: async (): Promise<Started> => {
      if (started) throw new Error(`${name} was started twice`);
      started = true;
      shutdown.onShutdown(...stopLast);
      for (const c of consumers) {
        const running = await bus().consume(c.group, c.handlers, c.options);
        shutdown.onShutdown(() => running.stop());
      }
      for (const s of schedules) {
        s.start();
        shutdown.onShutdown(() => s.stop());
      }
      const app = createHttpApp({
        service: name, logger, metrics, readiness, ...(o.bodyLimit ? { bodyLimit: o.bodyLimit } : {}),
        routes: (a) => { for (const add of routeSets) add(a); },
      });
      const server = await listen(app, config.PORT, '0.0.0.0', front);
      shutdown.onShutdown(() => server.close());
      if (o.handleSignals !== false) shutdown.installSignalHandlers();
      logger.info({ port: server.port, schema: config.PG_SCHEMA, topicPrefix: config.TOPIC_PREFIX, redisPrefix: config.REDIS_PREFIX }, `${name} running`);
      return { port: server.port };
    },
    /** Stops everything start() started and closes the stores (tests; main.ts leaves it to the signals). */
    stop: (): Promise<void> => shutdown.close('stop'),
  };
};

/** A service skeleton, as handed to the wiring of a service. */
export type Service = ReturnType<typeof createService>;
