import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authMigrationsDir, createKeyring, type Keyring } from '@flywheel/auth';
import { FLYWHEEL_SOURCES, makeEvent, ModelName, ModelVersion, type DriftReported } from '@flywheel/contracts';
import { createHttpApp, listen } from '@flywheel/http';
import { runMigrations } from '@flywheel/postgres';
import { migrateRegistry, MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { WeeklyReport } from '@flywheel/reports';
import { createMetricsRegistry } from '@flywheel/runtime';
import { isolatedPlatform, until, type IsolatedPlatform } from '@flywheel/testing';
import { migrationsDir } from './migrations.js';
import { onReportEvents } from './onReportEvents.js';
import { PgReportHistory } from './ReportHistory.js';
import { reportRoutes } from './reportRoutes.js';
import { httpExperimentSource } from './reportSources.js';
import { createWeeklyReports, type WeeklyReports } from './weeklyReports.js';

// Private schema (registry, report tables, keys), bucket (versions, reports), topic and Redis (dedupe) prefixes; removed in afterAll.
let p: IsolatedPlatform;
let keyring: Keyring;
let api: { port: number; close: () => Promise<void> };
let abRouter: Server;
let reports: WeeklyReports;
let history: PgReportHistory;
const ADMIN = 'r'.repeat(24);
const model = `wr-${randomUUID().slice(0, 8)}`;
const HOUR = 3_600_000;
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

const windowReport = (endAgo: number, level: DriftReported['level'], psi: number, estimated?: number): DriftReported => ({
  modelVersion: ModelVersion.parse('1.0.0'), windowStart: ago(endAgo + HOUR), windowEnd: ago(endAgo), predictions: 400, labelled: 40,
  measurements: [{ feature: 'hashed_tokens', test: 'psi', statistic: psi, effectSize: psi, level: psi > 0.25 ? 'significant' : psi > 0.1 ? 'warn' : 'none' }],
  level, triggeredRetraining: false, reference: 'training_snapshot',
  ...(estimated === undefined ? {} : { accuracy: { estimated, estimatedLower: estimated - 0.02, estimatedUpper: estimated + 0.02, labelled: 40, basis: 'estimated' } }),
} as DriftReported);

const bytes = (x: string): Uint8Array => new TextEncoder().encode(x);
const register = async (artifacts: MinioArtifactStore, version: string) => {
  const m = ModelName.parse(model);
  const v = ModelVersion.parse(version);
  const artifact = await artifacts.writeVersion({
    model: m, version: v, baseVersion: 'b0', labels: ['a', 'b'], metrics: { accuracy: 0.9 },
    adapter: { bytes: bytes('adapter'), manifest: { format: 'test' } }, state: { 'state.json': bytes('{}'), 'base.bin': bytes('weights') }, dataset: bytes(''), baseOnnx: () => bytes('onnx'),
  });
  return { model: m, version: v, baseVersion: 'b0', labels: ['a', 'b'], metrics: { accuracy: 0.9 }, artifact, actor: 'itest', reason: 'itest' };
};

beforeAll(async () => {
  p = await isolatedPlatform('drift-reports');
  await migrateRegistry(p.pool);
  await runMigrations(p.pool, migrationsDir, { table: 'drift_monitor_migrations' });
  await runMigrations(p.pool, authMigrationsDir, { table: 'auth_migrations' });
  const store = await p.objectStore();
  const registry = new PgRegistry(p.pool);
  const artifacts = new MinioArtifactStore(store);
  await registry.registerChampion(await register(artifacts, '1.0.0'));
  await registry.registerChallenger(await register(artifacts, '1.1.0'));
  await registry.promote(ModelName.parse(model), ModelVersion.parse('1.1.0'), 'ab-router', 'significant improvement');

  // The ab-router's admin API, as far as the report reads it; it insists on the admin key.
  abRouter = createServer((req, res) => {
    const ok = req.headers.authorization === `Bearer ${ADMIN}` && req.url === `/admin/experiments?model=${model}&limit=1000`;
    res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? {
      experiments: [{ id: randomUUID(), championVersion: '1.0.0', challengerVersion: '1.1.0', state: 'promoted', startedAt: ago(30 * HOUR), decidedAt: ago(2 * HOUR), decision: { decision: 'promote' }, totals: { champion: { n: 900, successes: 810 }, challenger: { n: 100, successes: 95 }, assigned: { champion: 900, challenger: 100 } } }],
    } : { error: { code: 'forbidden' } }));
  });
  await new Promise<void>((r) => abRouter.listen(0, '127.0.0.1', r));
  const abPort = (abRouter.address() as { port: number }).port;

  history = new PgReportHistory(p.pool);
  keyring = await createKeyring({ pool: p.pool, adminToken: ADMIN, logger: p.logger });
  reports = createWeeklyReports({ history, registry, store, logger: p.logger, experiments: httpExperimentSource({ baseUrl: `http://127.0.0.1:${abPort}`, token: ADMIN }) });
  api = await listen(createHttpApp({ service: 'drift-reports-itest', logger: p.logger, metrics: createMetricsRegistry('drift-reports-itest'), routes: reportRoutes({ reports, keyring }) }), 0, '127.0.0.1');
});

afterAll(async () => {
  try {
    await api?.close();
    keyring?.close();
    await new Promise((r) => (abRouter ? abRouter.close(r) : r(undefined)));
  } finally {
    await p?.drop();
  }
});

describe('weekly reports on real PostgreSQL and S3', () => {
  it('keeps windows and feedback verdicts once per event, however often they are delivered', async () => {
    const handlers = onReportEvents({ history });
    const source = FLYWHEEL_SOURCES.driftMonitor;
    const windows = [windowReport(40 * HOUR, 'none', 0.02, 0.91), windowReport(20 * HOUR, 'warn', 0.15, 0.86), windowReport(HOUR, 'significant', 0.4, 0.78)];
    for (const w of windows) {
      const e = makeEvent('driftReports', { source, subject: ModelName.parse(model), data: w });
      await handlers.driftReports(e);
      await handlers.driftReports(e); // redelivered
    }
    const feedback = (kind: 'misclassification' | 'confirmation', predicted: string, correct?: string) => makeEvent('feedback', {
      source: FLYWHEEL_SOURCES.feedbackIngest, subject: ModelName.parse(model),
      data: { feedbackId: randomUUID() as never, modelVersion: ModelVersion.parse('1.0.0'), text: 'some text', predictedLabel: predicted as never, ...(correct ? { correctLabel: correct as never } : {}), kind },
    });
    const events = [
      ...Array.from({ length: 6 }, () => feedback('misclassification', 'billing', 'refund')),
      ...Array.from({ length: 2 }, () => feedback('misclassification', 'login', 'account')),
      ...Array.from({ length: 12 }, () => feedback('confirmation', 'billing')),
    ];
    for (const e of events) await handlers.feedback(e);
    await handlers.feedback(events[0]!); // redelivered
    const to = new Date(Date.now() + 1000);
    const from = new Date(Date.now() - 7 * 24 * HOUR);
    expect(await history.windows(model, from, to)).toHaveLength(3);
    expect((await history.outcomesByDay(model, from, to)).reduce((n, d) => n + d.n, 0)).toBe(20);
    expect(await history.confusions(model, from, to)).toEqual([{ predicted: 'billing', corrected: 'refund', count: 6 }, { predicted: 'login', corrected: 'account', count: 2 }]);
  });

  it('generates a report on demand over the admin API, stores page and JSON twin in the bucket, and lists it', async () => {
    const base = `http://127.0.0.1:${api.port}/admin/v1/models/${model}/reports`;
    const auth = { authorization: `Bearer ${ADMIN}` };
    expect((await fetch(base, { method: 'POST' })).status).toBe(401);
    expect((await fetch(base, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ since: '7 days' }) })).status).toBe(400);

    const res = await fetch(base, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ since: '7d' }) });
    expect(res.status).toBe(201);
    const made = (await res.json()) as { name: string; html: string; json: string; report: unknown };
    const report = WeeklyReport.parse(made.report);
    expect(report.windows.map((w) => w.level)).toEqual(['none', 'warn', 'significant']);
    expect(report.accuracy.estimatedAvailable).toBe(true);
    expect(report.windows.map((w) => w.estimatedAccuracy)).toEqual([0.91, 0.86, 0.78]);
    expect(report.accuracy.realisedDaily.reduce((n, d) => n + d.n, 0)).toBe(20);
    expect(report.confusedPairs[0]).toEqual({ predicted: 'billing', corrected: 'refund', count: 6 });
    expect(report.modelChanges.map((c) => `${c.action} ${c.version}`)).toEqual(expect.arrayContaining(['promoted 1.1.0']));
    expect(report.experiments).toEqual([expect.objectContaining({ championVersion: '1.0.0', challengerVersion: '1.1.0', decision: 'promote' })]);
    expect(report.sources.labels).toEqual({ ok: false, note: 'FEEDBACK_URL is not set on the drift-monitor' });

    const store = await p.objectStore();
    expect(await store.exists(made.html)).toBe(true);
    expect(WeeklyReport.parse(JSON.parse((await store.get(made.json)).toString()))).toEqual(report);

    const list = (await (await fetch(base, { headers: auth })).json()) as { reports: { name: string }[] };
    expect(list.reports.map((r) => r.name)).toEqual([made.name]);
    const page = await fetch(`${base}/${made.name}.html`, { headers: auth });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html.match(/<circle class="pt" data-series="estimated \(CBPE\)"/g)).toHaveLength(3);
    expect(html).toContain('billing → refund');
    expect((await fetch(`${base}/nope.html`, { headers: auth })).status).toBe(404);
  });

  it('records what arrives on Kafka through the reports\' own consumer group (as main.ts consumes it)', async () => {
    const bus = p.newBus();
    try {
      const other = ModelName.parse(`${model}-bus`);
      await bus.consume(`drift-monitor-reports-${p.run}`, onReportEvents({ history }));
      await bus.publisher.publish('driftReports', makeEvent('driftReports', { source: FLYWHEEL_SOURCES.driftMonitor, subject: other, data: windowReport(HOUR, 'warn', 0.2, 0.8) }));
      await bus.publisher.publish('feedback', makeEvent('feedback', {
        source: FLYWHEEL_SOURCES.feedbackIngest, subject: other,
        data: { feedbackId: randomUUID() as never, modelVersion: ModelVersion.parse('1.0.0'), text: 'x', predictedLabel: 'a' as never, correctLabel: 'b' as never, kind: 'misclassification' },
      }));
      const from = new Date(Date.now() - 7 * 24 * HOUR);
      const to = new Date(Date.now() + HOUR);
      await until('window and verdict recorded', async () => (await history.windows(other, from, to)).length === 1 && (await history.confusions(other, from, to)).length === 1);
      expect((await history.windows(other, from, to))[0]).toMatchObject({ level: 'warn', estimatedAccuracy: 0.8 });
    } finally {
      await bus.close();
    }
  });

  it('makes last ISO week\'s report of every registered model once', async () => {
    const store = await p.objectStore();
    const weekly = createWeeklyReports({ history, registry: new PgRegistry(p.pool), store, logger: p.logger });
    expect(await weekly.runWeekly()).toEqual([model]);
    expect(await weekly.runWeekly()).toEqual([]);
    const names = (await weekly.list(model)).map((r) => r.name);
    expect(names.some((n) => /^\d{4}-W\d{2}$/.test(n))).toBe(true);
  });
});
