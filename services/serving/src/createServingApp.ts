import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { createHttpApp, type ReadinessCheck } from '@flywheel/http';
import { NotFound, type Logger } from '@flywheel/runtime';
import type { Predictor } from './createPredictor.js';
import { retryHeaders } from './ModelUnavailable.js';
import { createPredictHandlers, type ModelDirectory } from './predictHandlers.js';
import type { ServingMetrics } from './servingMetrics.js';

export interface ServingAppDeps {
  predict: Predictor;
  directory: ModelDirectory;
  logger: Logger;
  registry: Registry;
  metrics: ServingMetrics;
  readiness?: ReadinessCheck[];
}

/**
 * The serving REST API over express (via @flywheel/http): predict one text or a batch for a named
 * model, model info, health, readiness (every known model has a champion or
 * failed to load: its reload is retried and /readyz names it) and metrics.
 */
export const createServingApp = (deps: ServingAppDeps): Express => {
  const { predict, directory, metrics } = deps;
  const handle = createPredictHandlers({ predict, directory, metrics });

  // The shared error handler writes the status and body; Retry-After is set here, before it runs.
  const withRetryAfter = (run: (req: Request) => Promise<unknown>) => async (req: Request, res: Response): Promise<void> => {
    try {
      res.json(await run(req));
    } catch (err) {
      res.set(retryHeaders(err));
      throw err;
    }
  };
  const single = withRetryAfter((req) => handle.single(String(req.params.model), req.body));
  const batch = withRetryAfter((req) => handle.batch(String(req.params.model), req.body));

  return createHttpApp({
    service: 'serving',
    logger: deps.logger,
    metrics: deps.registry,
    // 256 rows of up to 20,000 characters each, JSON-escaped.
    bodyLimit: '12mb',
    // A model that fails to load does not make serving unready (the others serve); details name it.
    readiness: [{ name: 'models', check: () => ({ ok: directory.ready(), details: { failed: directory.loadFailures() } }) }, ...(deps.readiness ?? [])],
    routes: (app) => {
      app.post('/v1/models/:model/predict', single);
      app.post('/v1/models/:model/predict/batch', batch);
      app.post('/v1/models/:model/predict\\:batch', batch);
      app.get('/v1/models', (_req, res) => {
        res.json({ models: directory.models().map((m) => directory.describe(m)) });
      });
      app.get('/v1/models/:model', (req, res) => {
        const info = directory.describe(String(req.params.model));
        if (info === undefined) throw new NotFound(`model "${req.params.model}" is not served here; served models: ${directory.models().join(', ') || '(none)'}`);
        res.json(info);
      });
    },
  });
};
