import type { Express, Request, Response } from 'express';
import { clientOf, hasScope, rateLimit, requireScope, type Keyring, type RateLimits } from '@flywheel/auth';
import type { ReadinessCheck } from '@flywheel/http';
import { NotFound } from '@flywheel/runtime';
import type { Predictor } from './createPredictor.js';
import { retryHeaders } from './ModelUnavailable.js';
import { modelViewFor } from './modelViews.js';
import { createPredictHandlers, type ModelDirectory } from './predictHandlers.js';
import type { ServingMetrics } from './servingMetrics.js';

export interface ServingRoutesDeps {
  predict: Predictor;
  directory: ModelDirectory;
  metrics: ServingMetrics;
  keyring: Keyring;
  limits: RateLimits;
}

/**
 * The serving REST API on express (svc.routes): predict one text or a batch for a named model,
 * and model info. Every route needs the `predict` scope; the predict routes spend the client's
 * rate limit; model info shows routing internals only to `admin`. The fast path (fastPredictPath.ts)
 * answers the predict routes in front of these with the same handlers; these serve whatever it declines.
 */
export const servingRoutes = (deps: ServingRoutesDeps) => (app: Express): void => {
  const { directory } = deps;
  const handle = createPredictHandlers(deps);
  const authed = requireScope(deps.keyring, 'predict');
  const limited = rateLimit(deps.limits, 'predict');
  // The shared error handler writes the status and body; Retry-After is set here, before it runs.
  const withRetryAfter = (run: (req: Request, client: string) => Promise<unknown>) => async (req: Request, res: Response): Promise<void> => {
    try {
      res.json(await run(req, clientOf(res).name));
    } catch (err) {
      res.set(retryHeaders(err));
      throw err;
    }
  };
  const single = withRetryAfter((req, client) => handle.single(String(req.params.model), req.body, client));
  const batch = withRetryAfter((req, client) => handle.batch(String(req.params.model), req.body, client));

  app.post('/v1/models/:model/predict', authed, limited, single);
  app.post('/v1/models/:model/predict/batch', authed, limited, batch);
  app.post('/v1/models/:model/predict\\:batch', authed, limited, batch);
  app.get('/v1/models', authed, (_req, res) => {
    const admin = hasScope(clientOf(res), 'admin');
    res.json({ models: directory.models().flatMap((m) => { const d = directory.describe(m); return d ? [modelViewFor(d, admin)] : []; }) });
  });
  app.get('/v1/models/:model', authed, (req, res) => {
    const info = directory.describe(String(req.params.model));
    if (info === undefined) throw new NotFound(`model "${req.params.model}" is not served here; served models: ${directory.models().join(', ') || '(none)'}`);
    res.json(modelViewFor(info, hasScope(clientOf(res), 'admin')));
  });
};

/**
 * /readyz's `models` check: ready once every known model has a champion or failed to load. A model
 * that fails to load does not make serving unready (the others serve, its load is retried); the
 * details name it.
 */
export const modelsReadiness = (directory: Pick<ModelDirectory, 'ready' | 'loadFailures'>): ReadinessCheck => ({
  name: 'models',
  check: () => ({ ok: directory.ready(), details: { failed: directory.loadFailures() } }),
});
