import type { Express } from 'express';
import { ModelName } from '@flywheel/contracts';
import { requireScope, type Keyring } from '@flywheel/auth';
import { NotFound } from '@flywheel/runtime';
import type { DriftMonitor } from './createDriftMonitor.js';

/** The admin API (a key with the `admin` scope): a model's drift status, and closing its open window now. */
export const adminRoutes = (deps: { monitor: Pick<DriftMonitor, 'status' | 'flush'>; keyring: Keyring }) => (app: Express): void => {
  const admin = requireScope(deps.keyring, 'admin');
  app.get('/admin/models/:model/drift', admin, (req, res) => {
    const status = deps.monitor.status(ModelName.parse(req.params.model));
    if (!status) throw new NotFound(`no champion predictions seen for ${req.params.model} yet`);
    res.json(status);
  });
  app.post('/admin/models/:model/drift/evaluate', admin, async (req, res) => {
    const report = await deps.monitor.flush(ModelName.parse(req.params.model));
    if (!report) throw new NotFound(`no window to evaluate for ${req.params.model}: its reference is not complete or the window is empty`);
    res.json(report);
  });
};
