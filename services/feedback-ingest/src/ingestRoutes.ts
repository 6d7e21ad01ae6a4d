import type { Express, Request, Response } from 'express';
import { clientOf, rateLimit, requireScope, type Client, type Keyring, type RateLimits } from '@flywheel/auth';
import { NotFound, type Logger } from '@flywheel/runtime';
import type { RetrainRules } from '@flywheel/contracts';
import { hashBody, type FeedbackStore } from './feedbackStore.js';
import { FeedbackBatch, FeedbackItem, IdempotencyKey, ManualRetrain, ModelParam, type AcceptedItem } from './httpSchemas.js';
import type { IngestMetrics } from './ingestMetrics.js';
import type { LabelBook } from './labelBook.js';
import { labelRoutes } from './labelRoutes.js';
import type { ManualTrigger } from './manualTrigger.js';
import type { ModelCatalog } from './modelCatalog.js';
import type { RelayNudge } from './ports.js';
import type { TrainingExamples } from './trainingExamples.js';
import { trainingExamplesRoute } from './trainingExamplesRoute.js';
import type { TrainingView } from './trainingProjection.js';

export interface IngestRoutesDeps {
  logger: Logger;
  metrics: IngestMetrics;
  store: FeedbackStore;
  training: TrainingView;
  examples: TrainingExamples;
  manualTrigger: ManualTrigger;
  rulesFor: (model: string) => RetrainRules;
  /** API keys: `feedback` scope for feedback and status, `admin` for admin and internal routes. */
  keyring: Keyring;
  /** Per-client budget of the `feedback` scope (429 with Retry-After when spent). */
  limits: RateLimits;
  /** Registered models and their champion's labels: other models are refused with 404. */
  catalog: ModelCatalog;
  labels: LabelBook;
  /** Woken after feedback was committed. */
  relay: RelayNudge;
}

/**
 * The feedback-ingest REST API (/v1, /internal/v1), documented by openapi.json from the same zod
 * schemas. Every route needs an API key (the skeleton's /healthz, /readyz and /metrics do not).
 */
export const ingestRoutes = (deps: IngestRoutesDeps) => (app: Express): void => {
  /** The labels of each model, or 404 naming the models the registry does not know. */
  const knownLabels = async (models: Iterable<string>): Promise<Map<string, ReadonlySet<string>>> => {
    const out = new Map<string, ReadonlySet<string>>();
    const unknown: string[] = [];
    for (const m of new Set(models)) {
      const labels = await deps.catalog.labelsOf(m);
      if (labels) out.set(m, labels);
      else unknown.push(m);
    }
    if (unknown.length > 0) {
      throw new NotFound(`unknown model(s): ${unknown.join(', ')}; no version of it is registered (bootstrap it first: flywheel bootstrap)`, { reason: 'unknown_model', details: { unknownModels: unknown } });
    }
    return out;
  };
  const idempotency = (req: Request, scope: string, client: Client) => {
    const header = req.header('idempotency-key');
    if (header === undefined) return undefined;
    // Scoped by client too: one client's key never replays another client's answer.
    return { key: `${scope}:${client.name}:${IdempotencyKey.parse(header)}`, bodyHash: hashBody(req.body) };
  };
  const submit = async (req: Request, res: Response, scope: string, items: FeedbackItem[], pathOf: (i: number) => (string | number)[]): Promise<AcceptedItem[]> => {
    const sender = clientOf(res);
    const labels = await knownLabels(items.map((i) => i.model));
    const out = await deps.store.submit(items, { sender, knownLabels: labels, idempotency: idempotency(req, scope, sender), pathOf });
    if (out.replayed) {
      deps.metrics.replays.inc();
      return out.items;
    }
    deps.relay.nudge();
    for (const i of items) deps.metrics.accepted.inc({ model: i.model, kind: i.kind });
    return out.items;
  };

  const feedback = [requireScope(deps.keyring, 'feedback'), rateLimit(deps.limits, 'feedback')];
  const admin = requireScope(deps.keyring, 'admin');
  app.post('/v1/feedback', ...feedback, async (req, res) => {
    const item = FeedbackItem.parse(req.body);
    const [one] = await submit(req, res, 'feedback', [item], () => []);
    res.status(202).json(one);
  });
  app.post('/v1/feedback/batch', ...feedback, async (req, res) => {
    const batch = FeedbackBatch.parse(req.body);
    const items = await submit(req, res, 'batch', batch.items, (i) => ['items', i]);
    res.status(202).json({ accepted: items.length, items });
  });
  app.get('/v1/models/:model/retraining', ...feedback, async (req, res) => {
    const { model } = ModelParam.parse(req.params);
    await knownLabels([model]);
    res.json(await deps.training.status(model, deps.rulesFor(model)));
  });
  app.post('/v1/admin/models/:model/retrain', admin, async (req, res) => {
    const { model } = ModelParam.parse(req.params);
    const body = ManualRetrain.parse(req.body ?? {});
    await knownLabels([model]);
    res.status(202).json(await deps.manualTrigger(model, body));
  });
  labelRoutes({ admin, labels: deps.labels, knownModel: async (m) => { await knownLabels([m]); } })(app);
  app.get('/internal/v1/models/:model/training-examples', admin, trainingExamplesRoute(deps.examples, deps.logger));
};
