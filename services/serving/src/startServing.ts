import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Bus } from '@flywheel/bus';
import type { Logger } from '@flywheel/runtime';
import { createPredictor, type Predictor } from './createPredictor.js';
import { createServingApp } from './createServingApp.js';
import { createFastPredictPath, listenServing } from './fastPredictPath.js';
import { ModelHost } from './ModelHost.js';
import type { LoadRetryPolicy } from './ModelLoadFailures.js';
import { onModelUpdate } from './onModelUpdate.js';
import { PredictionLog } from './PredictionLog.js';
import type { InferenceEngine, ModelSource, RoutingStore } from './ports.js';
import { createPredictHandlers } from './predictHandlers.js';
import { createServingMetrics, type ServingMetrics } from './servingMetrics.js';

export interface ServingDeps {
  bus: Pick<Bus, 'publisher' | 'consume'>;
  source: ModelSource;
  routing: RoutingStore;
  engine: InferenceEngine;
  logger: Logger;
  registry: Registry;
  /** Models loaded at start. */
  models: readonly string[];
  /** Also serve models first seen on model-updates. */
  followAll: boolean;
  /** model-updates consumer group: unique per replica, because every replica needs every update. */
  groupId: string;
  port: number;
  host?: string;
  releaseGraceMs?: number;
  /** Backoff of the reloads of a model that failed to load (default 1 s doubling up to 60 s). */
  loadRetry?: LoadRetryPolicy;
  predictionBuffer?: number;
  predictionFlushMs?: number;
  /** CloudEvents source of the prediction events. */
  eventSource?: string;
  /** Serve the predict routes on bare node:http instead of express (default true). */
  fastPath?: boolean;
}

/** 256 rows of up to 20,000 characters each, JSON-escaped (the express routes use the same limit). */
const BODY_LIMIT_BYTES = 12 * 1024 * 1024;

/** A running serving instance (in-process for tests and the end-to-end job; main.ts runs one). */
export interface RunningServing {
  port: number;
  server: Server;
  host: ModelHost;
  predictions: PredictionLog;
  predict: Predictor;
  metrics: ServingMetrics;
  /** Stops taking requests, then the consumer, flushes the prediction log and releases the models. */
  close(): Promise<void>;
}

/**
 * Wires serving from built clients: consumes model-updates (own group, from now on), loads every
 * configured model's current state, serves HTTP. Resolves once listening and every model loaded or
 * failed (a failed one answers 503 and is retried; the others serve).
 */
export const startServing = async (deps: ServingDeps): Promise<RunningServing> => {
  const metrics = createServingMetrics(deps.registry);
  const host = new ModelHost({
    source: deps.source,
    engine: deps.engine,
    routing: deps.routing,
    metrics,
    logger: deps.logger,
    ...(deps.releaseGraceMs === undefined ? {} : { releaseGraceMs: deps.releaseGraceMs }),
    ...(deps.loadRetry === undefined ? {} : { loadRetry: deps.loadRetry }),
  });
  const predictions = new PredictionLog({
    publisher: deps.bus.publisher,
    metrics,
    logger: deps.logger,
    source: deps.eventSource ?? '/flywheel/serving',
    ...(deps.predictionBuffer === undefined ? {} : { capacity: deps.predictionBuffer }),
    ...(deps.predictionFlushMs === undefined ? {} : { flushEveryMs: deps.predictionFlushMs }),
  });
  predictions.start();
  const predict = createPredictor({ host, recorder: predictions, metrics });
  // Subscribe before loading: an update published while we load is applied after the load, not lost.
  const consumer = await deps.bus.consume(deps.groupId, { modelUpdates: onModelUpdate({ host, followAll: deps.followAll }) }, { fromBeginning: false });
  try {
    // A follow-all replica that restarts would otherwise serve nothing until the next model update.
    // host.start never throws for one model: a broken one answers 503 and is reloaded with backoff.
    const known = deps.followAll && deps.source.modelsWithChampion ? await deps.source.modelsWithChampion() : [];
    await Promise.all([...new Set([...deps.models, ...known])].map((m) => host.start(m)));
  } catch (err) {
    await consumer.stop();
    await predictions.stop(0);
    await host.close();
    throw err;
  }
  const app = createServingApp({ predict, directory: host, logger: deps.logger, registry: deps.registry, metrics });
  const fast = deps.fastPath === false
    ? undefined
    : createFastPredictPath(createPredictHandlers({ predict, directory: host, metrics }), { logger: deps.logger, bodyLimitBytes: BODY_LIMIT_BYTES });
  const server = await listenServing(app, fast, deps.port, deps.host ?? '0.0.0.0');
  deps.logger.info({ port: server.port, models: host.models() }, 'serving');
  return {
    port: server.port,
    server: server.server,
    host,
    predictions,
    predict,
    metrics,
    close: async () => {
      await server.close();
      await consumer.stop();
      await predictions.stop();
      await host.close();
    },
  };
};
