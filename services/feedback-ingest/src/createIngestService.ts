import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { Bus, RunningConsumer } from '@flywheel/bus';
import { runMigrations, type Pool } from '@flywheel/postgres';
import { DependencyDown, type Logger } from '@flywheel/runtime';
import type { Locks } from '@flywheel/redis';
import { PgFeedbackStore } from './feedbackStore.js';
import { createIngestApp } from './createIngestApp.js';
import { createManualTrigger } from './manualTrigger.js';
import { createOutboxRelay, type OutboxPublisher, type OutboxRelay } from './outboxRelay.js';
import type { RetrainRules } from '@flywheel/contracts';
import { PgTrainingProjection } from './trainingProjection.js';

/** Folder of the service's SQL migrations (next to src/ and dist/). */
export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export interface IngestServiceDeps {
  pool: Pool;
  /** PostgreSQL schema the pool's search_path points at (the relay's leader lock is per schema). */
  schema: string;
  bus: Bus;
  /** Where the relay publishes; defaults to the bus. Tests pass one that can fail like a Kafka outage. */
  relayPublisher?: OutboxPublisher;
  locks: Locks;
  logger: Logger;
  metrics: Registry;
  rulesFor: (model: string) => RetrainRules;
  adminToken: string;
  apiKey?: string | undefined;
  knownModels?: readonly string[] | undefined;
  bodyLimit?: string;
  lockTtlMs: number;
  relayBatchSize?: number;
  relayIdlePollMs?: number;
  /** Consumer group of the projections (predictions, triggers, training status, model updates). */
  group?: string;
}

export interface IngestService {
  app: Express;
  relay: OutboxRelay;
  projection: PgTrainingProjection;
  /** Applies migrations, starts the relay and the projection consumer. */
  start(): Promise<void>;
  /** Stops the consumer and the relay (the caller closes the server, bus and pool). */
  stop(): Promise<void>;
}

// Store errors inside a handler are worth retrying (the offset must not move on).
const retriable = <A extends unknown[]>(f: (...a: A) => Promise<void>) => async (...a: A): Promise<void> => {
  try {
    await f(...a);
  } catch (err) {
    throw new DependencyDown(`projection write failed: ${(err as Error).message}`, { cause: err });
  }
};

/** Wires feedback-ingest from clients the caller built (main.ts, tests, benches). */
export const createIngestService = (deps: IngestServiceDeps): IngestService => {
  const projection = new PgTrainingProjection(deps.pool);
  const relay = createOutboxRelay({
    pool: deps.pool,
    publisher: deps.relayPublisher ?? deps.bus.publisher,
    logger: deps.logger,
    metrics: deps.metrics,
    lockName: `feedback-ingest:${deps.schema}`,
    ...(deps.relayBatchSize ? { batchSize: deps.relayBatchSize } : {}),
    ...(deps.relayIdlePollMs ? { idlePollMs: deps.relayIdlePollMs } : {}),
  });
  const app = createIngestApp({
    logger: deps.logger,
    metrics: deps.metrics,
    store: new PgFeedbackStore(deps.pool),
    training: projection,
    manualTrigger: createManualTrigger({ pool: deps.pool, locks: deps.locks, lockTtlMs: deps.lockTtlMs, latestSequence: (m) => projection.latestSequence(m), onWritten: () => relay.nudge() }),
    rulesFor: deps.rulesFor,
    adminToken: deps.adminToken,
    apiKey: deps.apiKey,
    knownModels: deps.knownModels,
    ...(deps.bodyLimit ? { bodyLimit: deps.bodyLimit } : {}),
    readiness: [{ name: 'postgres', check: async () => (await deps.pool.query('SELECT 1')).rowCount === 1 }],
    onAccepted: () => relay.nudge(),
  });
  let consumer: RunningConsumer | undefined;
  return {
    app,
    relay,
    projection,
    async start() {
      await runMigrations(deps.pool, migrationsDir, { table: 'feedback_ingest_migrations', schema: deps.schema });
      relay.start();
      consumer = await deps.bus.consume(deps.group ?? 'feedback-ingest', {
        predictions: retriable((e) => projection.onPrediction(e)),
        retrainingTriggers: retriable((e) => projection.onTrigger(e)),
        trainingStatus: retriable((e) => projection.onTrainingStatus(e)),
        modelUpdates: retriable((e) => projection.onModelUpdate(e)),
      });
    },
    async stop() {
      await consumer?.stop();
      await relay.stop();
    },
  };
};
