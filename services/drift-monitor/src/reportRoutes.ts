import type { Express } from 'express';
import { z } from 'zod';
import { requireScope, type Keyring } from '@flywheel/auth';
import { ModelName } from '@flywheel/contracts';
import type { WeeklyReports } from './weeklyReports.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
/** A look-back such as `7d`, `36h` or `90m`, at most 92 days. */
export const Since = z.string().regex(/^\d{1,4}[mhd]$/, 'since is a number and a unit: 90m, 36h or 7d')
  .transform((s) => Number(s.slice(0, -1)) * UNIT_MS[s.slice(-1) as keyof typeof UNIT_MS])
  .refine((ms) => ms > 0 && ms <= 92 * UNIT_MS.d, 'since is more than 0 and at most 92d');
const GenerateBody = z.object({ since: Since.default('7d') });
const FileParam = z.object({ model: ModelName, file: z.string().regex(/^[A-Za-z0-9-]+\.(html|json)$/, 'a report file is <name>.html or <name>.json') });

/**
 * The reports' admin API (a key with the `admin` scope):
 * GET  /admin/v1/models/:model/reports          the stored reports, newest first
 * POST /admin/v1/models/:model/reports          generates one now over `since` (default 7d)
 * GET  /admin/v1/models/:model/reports/:file    one stored page (.html) or JSON twin (.json)
 */
export const reportRoutes = (deps: { reports: Pick<WeeklyReports, 'list' | 'generateSince' | 'read'>; keyring: Keyring }) => (app: Express): void => {
  const admin = requireScope(deps.keyring, 'admin');
  app.get('/admin/v1/models/:model/reports', admin, async (req, res) => {
    const model = ModelName.parse(req.params.model);
    res.json({ model, reports: await deps.reports.list(model) });
  });
  app.post('/admin/v1/models/:model/reports', admin, async (req, res) => {
    const model = ModelName.parse(req.params.model);
    const { since } = GenerateBody.parse(req.body ?? {});
    res.status(201).json(await deps.reports.generateSince(model, since));
  });
  app.get('/admin/v1/models/:model/reports/:file', admin, async (req, res) => {
    const { model, file } = FileParam.parse(req.params);
    // The page has no scripts and fetches nothing; the policy keeps it so even if a label smuggled markup in.
    if (file.endsWith('.html')) res.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'");
    res.type(file.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/json').send(await deps.reports.read(model, file));
  });
};
