import type { Express, Request } from 'express';
import { Counter, type Registry } from 'prom-client';
import { createHttpApp, HttpError, requireApiKey, requireBearer, type ReadinessCheck } from '@flywheel/http';
import type { Logger } from '@flywheel/runtime';
import { hashBody, type FeedbackStore } from './feedbackStore.js';
import { FeedbackBatch, FeedbackItem, IdempotencyKey, ManualRetrain, ModelParam, type AcceptedItem } from './httpSchemas.js';
import type { ManualTrigger } from './manualTrigger.js';
import type { RetrainRules } from '@flywheel/contracts';
import type { TrainingView } from './trainingProjection.js';

export interface IngestAppDeps {
  logger: Logger;
  metrics: Registry;
  store: FeedbackStore;
  training: TrainingView;
  manualTrigger: ManualTrigger;
  rulesFor: (model: string) => RetrainRules;
  adminToken: string;
  apiKey?: string | undefined;
  /** When given, other models are refused with 404. */
  knownModels?: readonly string[] | undefined;
  bodyLimit?: string;
  readiness?: ReadinessCheck[];
  /** Called after feedback was committed (wakes the outbox relay). */
  onAccepted?: () => void;
}

/** The feedback-ingest REST API (/v1), documented by openapi.json from the same zod schemas. */
export const createIngestApp = (deps: IngestAppDeps): Express => {
  const accepted = new Counter({ name: 'flywheel_ingest_feedback_accepted_total', help: 'Feedback items accepted, by model and kind', labelNames: ['model', 'kind'], registers: [deps.metrics] });
  const replays = new Counter({ name: 'flywheel_ingest_idempotent_replays_total', help: 'Requests answered from an earlier request with the same Idempotency-Key', registers: [deps.metrics] });
  const known = deps.knownModels ? new Set(deps.knownModels) : undefined;
  const checkKnown = (models: Iterable<string>): void => {
    if (!known) return;
    const unknown = [...new Set(models)].filter((m) => !known.has(m));
    if (unknown.length > 0) throw new HttpError(404, 'unknown_model', `unknown model(s): ${unknown.join(', ')}; this deployment accepts feedback only for ${[...known].join(', ')}`, { unknownModels: unknown });
  };
  const idempotency = (req: Request, scope: string) => {
    const header = req.header('idempotency-key');
    if (header === undefined) return undefined;
    return { key: `${scope}:${IdempotencyKey.parse(header)}`, bodyHash: hashBody(req.body) };
  };
  const submit = async (req: Request, scope: string, items: FeedbackItem[], pathOf: (i: number) => (string | number)[]): Promise<AcceptedItem[]> => {
    checkKnown(items.map((i) => i.model));
    const idem = idempotency(req, scope);
    const out = await deps.store.submit(items, { idempotency: idem, pathOf });
    if (out.replayed) {
      replays.inc();
      return out.items;
    }
    deps.onAccepted?.();
    for (const i of items) accepted.inc({ model: i.model, kind: i.kind });
    return out.items;
  };

  return createHttpApp({
    service: 'feedback-ingest',
    logger: deps.logger,
    metrics: deps.metrics,
    readiness: deps.readiness ?? [],
    bodyLimit: deps.bodyLimit ?? '4mb',
    routes: (app) => {
      const feedbackAuth = requireApiKey(deps.apiKey);
      app.post('/v1/feedback', feedbackAuth, async (req, res) => {
        const item = FeedbackItem.parse(req.body);
        const [one] = await submit(req, 'feedback', [item], () => []);
        res.status(202).json(one);
      });
      app.post('/v1/feedback/batch', feedbackAuth, async (req, res) => {
        const batch = FeedbackBatch.parse(req.body);
        const items = await submit(req, 'batch', batch.items, (i) => ['items', i]);
        res.status(202).json({ accepted: items.length, items });
      });
      app.get('/v1/models/:model/retraining', feedbackAuth, async (req, res) => {
        const { model } = ModelParam.parse(req.params);
        checkKnown([model]);
        res.json(await deps.training.status(model, deps.rulesFor(model)));
      });
      app.post('/v1/admin/models/:model/retrain', requireBearer(deps.adminToken), async (req, res) => {
        const { model } = ModelParam.parse(req.params);
        const body = ManualRetrain.parse(req.body ?? {});
        checkKnown([model]);
        res.status(202).json(await deps.manualTrigger(model, body));
      });
    },
  });
};
