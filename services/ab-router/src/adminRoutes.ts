import type { Express } from 'express';
import { z } from 'zod';
import { requireScope, type Keyring } from '@flywheel/auth';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import { NotFound } from '@flywheel/runtime';
import type { AbRouter } from './createAbRouter.js';
import { ExperimentSettingsInput } from './experimentSettings.js';
import { ExperimentState } from './PgExperimentStore.js';

// The request schemas are exported for openApiDocument.ts, which documents the API from them.
export const StartBody = z.object({ model: ModelName, challengerVersion: ModelVersion, settings: ExperimentSettingsInput.default({}) });
export const ReasonBody = z.object({ reason: z.string().trim().min(1, 'say why (it goes into the registry history)').max(2000) });
/** `expectedChampion`: the version the caller saw serving; the rollback is refused (409) if it is another by then. */
export const RollbackBody = ReasonBody.extend({ expectedChampion: ModelVersion.optional() });
export const ListQuery = z.object({ model: z.string().optional(), state: ExperimentState.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const IdParam = z.object({ id: z.string().uuid('experiment id is a UUID') });

/**
 * Admin REST: list experiments with live statistics, start, stop, evaluate now, promote now, roll a
 * model's champion back. Every route needs a key with the `admin` scope (401 without a valid key,
 * 403 with another scope); ADMIN_TOKEN is the keyring's built-in admin client.
 */
export const adminRoutes = (router: AbRouter, keyring: Keyring) => (app: Express): void => {
  const admin = requireScope(keyring, 'admin');
  app.get('/admin/experiments', admin, async (req, res) => {
    const q = ListQuery.parse(req.query);
    res.json({ experiments: await router.list({ model: q.model, state: q.state, limit: q.limit }) });
  });
  app.get('/admin/experiments/:id', admin, async (req, res) => {
    const { id } = IdParam.parse(req.params);
    const [e] = (await router.list({ limit: 1000 })).filter((x) => x.id === id);
    if (!e) throw new NotFound(`no experiment ${id}`);
    res.json(e);
  });
  app.post('/admin/experiments', admin, async (req, res) => {
    const body = StartBody.parse(req.body);
    const e = await router.startExperiment(body.model, body.challengerVersion, body.settings);
    if (!e) return void res.status(200).json({ started: false, reason: 'no champion to test against (promoted directly) or the challenger is already champion' });
    res.status(201).json(await router.view(e));
  });
  app.post('/admin/experiments/:id/stop', admin, async (req, res) => {
    const { id } = IdParam.parse(req.params);
    res.json(await router.stopExperiment(id, ReasonBody.parse(req.body ?? {}).reason));
  });
  app.post('/admin/experiments/:id/evaluate', admin, async (req, res) => {
    const { id } = IdParam.parse(req.params);
    res.json(await router.evaluate(id));
  });
  app.post('/admin/experiments/:id/promote', admin, async (req, res) => {
    const { id } = IdParam.parse(req.params);
    res.json(await router.promote(id, ReasonBody.parse(req.body ?? {}).reason));
  });
  app.post('/admin/models/:model/rollback', admin, async (req, res) => {
    const model = ModelName.parse(req.params.model);
    const body = RollbackBody.parse(req.body ?? {});
    res.json(await router.rollback(model, body.reason, false, body.expectedChampion));
  });
};
