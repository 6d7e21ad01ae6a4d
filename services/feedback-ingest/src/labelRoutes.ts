import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import { clientOf } from '@flywheel/auth';
import { Label, ModelName } from '@flywheel/contracts';
import type { LabelBook } from './labelBook.js';

export const LabelParams = z.object({ model: ModelName, label: Label });

/**
 * Label governance for operators (admin scope):
 * GET  /v1/admin/models/{model}/labels                 proposed and accepted labels, with reporters
 * POST /v1/admin/models/{model}/labels/{label}/accept  accepts one: its stored items become trainable
 */
export const labelRoutes = (deps: { admin: RequestHandler; labels: LabelBook; knownModel: (model: string) => Promise<void> }) => (app: Express): void => {
  app.get('/v1/admin/models/:model/labels', deps.admin, async (req, res) => {
    const { model } = z.object({ model: ModelName }).parse(req.params);
    await deps.knownModel(model);
    res.json({ model, labels: await deps.labels.list(model) });
  });
  app.post('/v1/admin/models/:model/labels/:label/accept', deps.admin, async (req, res) => {
    const { model, label } = LabelParams.parse(req.params);
    await deps.knownModel(model);
    res.json(await deps.labels.accept(model, label, clientOf(res).name));
  });
};
