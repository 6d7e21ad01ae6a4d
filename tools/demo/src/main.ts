#!/usr/bin/env node
// The demo's composition root: parses options, loads the data, starts the services, runs the
// scenario, prints the summary, writes the report, and stops everything it started.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { createKafkaBus } from '@flywheel/bus';
import { readExamples } from '@flywheel/learning';
import { findRepoRoot, readPlatformEnv, ServiceFailed, HttpCallFailed, startLocalStack, type LocalStack, type ServiceName } from '@flywheel/local-stack';
import { createLogger, createMetricsRegistry } from '@flywheel/runtime';
import { buildReportData } from './buildReportData.js';
import { startEventObserver, StageTimeout, type EventObserver } from './createEventObserver.js';
import { createProgress } from './createProgress.js';
import { FLIPKART, parseDemoArgs, USAGE } from './demoArgs.js';
import { formatSummary } from './formatSummary.js';
import { renderReport } from './renderReport.js';
import { runScenario } from './runScenario.js';
import { splitScenario } from './scenarioData.js';

const args = (() => {
  try {
    return parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
})();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const root = findRepoRoot();
const t0 = Date.now();
const runId = Math.random().toString(16).slice(2, 10);
const model = args.model ?? `demo-${runId}`;
const progress = createProgress({ write: (s) => process.stdout.write(s), isTTY: Boolean(process.stdout.isTTY), columns: process.stdout.columns });
const logDir = join(root, '.flywheel', 'logs');
mkdirSync(logDir, { recursive: true });

let stack: LocalStack | undefined;
let observer: EventObserver | undefined;
let bus: ReturnType<typeof createKafkaBus> | undefined;
let closing: Promise<void> | undefined;
const shutdown = (): Promise<void> => (closing ??= (async () => {
  await observer?.stop().catch(() => undefined);
  await bus?.close().catch(() => undefined);
  await stack?.stopAll();
})());
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    progress.line(`\n${sig}: stopping the services…`);
    void shutdown().finally(() => process.exit(130));
  });
}

const serviceOf = (err: unknown): ServiceName | undefined => {
  if (err instanceof ServiceFailed || err instanceof HttpCallFailed || err instanceof StageTimeout) return err.service as ServiceName;
  return undefined;
};

try {
  // Data: the shipped catalogue unless --data names the user's own file.
  const own = args.data !== undefined;
  const dataPath = own ? resolve(process.cwd(), args.data as string) : join(root, FLIPKART.path);
  const format = args.format ?? (dataPath.endsWith('.jsonl') ? 'jsonl' : 'csv');
  const rows = await readExamples(dataPath, {
    format,
    header: own ? !args['no-header'] : false,
    textColumn: args['text-column'] ?? (own ? 'text' : FLIPKART.textColumn),
    labelColumn: args['label-column'] ?? (own ? 'label' : FLIPKART.labelColumn),
    ...(args['label-depth'] ?? (own ? undefined : FLIPKART.labelDepth) ? { labelDepth: args['label-depth'] ?? FLIPKART.labelDepth } : {}),
  });
  const data = splitScenario(rows, {
    minRowsPerLabel: args['min-rows'], basePerLabel: args['base-per-label'],
    newLabel: args['new-label'] ?? (own ? undefined : FLIPKART.newLabel),
    evalOldSize: 400, evalNewSize: 100, badSize: 600, seed: args.seed,
  });

  progress.stage('start the six services');
  const tStack = Date.now();
  stack = await startLocalStack({ root, runId, platformEnv: readPlatformEnv(root), logDir, trainerModels: model });
  progress.done(`ready: ${stack.services.join(', ')} (logs in ${isAbsolute(logDir) ? logDir.replace(`${root}/`, '') : logDir}/)`);
  const stackSeconds = (Date.now() - tStack) / 1000;

  const demoLog = createWriteStream(join(logDir, 'demo.log'), { flags: 'a' });
  const logger = createLogger({ service: 'demo', level: 'warn', destination: demoLog });
  const seen = new Set<string>();
  bus = createKafkaBus({
    brokers: (stack.platformEnv.KAFKA_BROKERS ?? '').split(','), clientId: 'demo', logger, metrics: createMetricsRegistry('demo'), topicPrefix: stack.topicPrefix,
    dedupe: { seen: async (g, ids) => ids.map((id) => seen.has(`${g}:${id}`)), mark: async (g, ids) => { for (const id of ids) seen.add(`${g}:${id}`); } },
  });
  observer = await startEventObserver({ bus, model, t0, group: 'demo-observer' });

  const result = await runScenario({ stack, observer, progress, data }, { model, workDir: join(root, '.flywheel', 'demo', runId), t0, timeoutScale: args['timeout-scale'], seed: args.seed });
  result.stages.unshift({ stage: 'start the six services', seconds: stackSeconds, note: `topics ${stack.topicPrefix}*` });

  const reportDir = resolve(root, args['report-dir']);
  mkdirSync(reportDir, { recursive: true });
  const report = buildReportData(result, { timeline: observer.timeline, drift: observer.drift, generatedAt: new Date() });
  writeFileSync(join(reportDir, 'loop-report.html'), renderReport(report));
  const peak = stack.peakRssBytes();
  const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
  const bench = {
    bench: 'loop',
    model,
    loopSeconds: Math.round(result.marks.promoted - result.marks.firstShiftMisclassification) / 1000,
    firstMisclassificationToTriggerSeconds: Math.round(result.marks.trigger - result.marks.firstShiftMisclassification) / 1000,
    triggerToChallengerSeconds: Math.round(result.marks.challenger - result.marks.trigger) / 1000,
    challengerToPromotedSeconds: Math.round(result.marks.promoted - result.marks.challenger) / 1000,
    rollbackSeconds: Math.round(result.marks.rolledBack - result.marks.badPushed) / 1000,
    triggeredBy: result.triggerReason,
    oldCategoryAccuracy: { before: result.oldAccuracy.before, after: result.oldAccuracy.after },
    newCategoryAccuracy: { before: result.newAccuracy.before, after: result.newAccuracy.after },
    versions: result.versions,
    peakRssMb: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, mb(v)])),
    totalSeconds: Math.round(Date.now() - t0) / 1000,
  };
  writeFileSync(join(reportDir, 'loop-report.json'), `${JSON.stringify({ ...bench, stages: result.stages, timeline: report.timeline, drift: report.drift }, null, 2)}\n`);

  progress.line('');
  progress.line(formatSummary(result.stages));
  progress.line('');
  progress.line(`loop: first misclassification → challenger promoted in ${bench.loopSeconds.toFixed(1)} s; old categories ${(bench.oldCategoryAccuracy.before * 100).toFixed(1)}% → ${(bench.oldCategoryAccuracy.after * 100).toFixed(1)}%`);
  progress.line(`peak memory (MB): ${Object.entries(bench.peakRssMb).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  progress.line(`report: ${join(reportDir, 'loop-report.html').replace(`${root}/`, '')} (and loop-report.json)`);
  await shutdown();
  if (args.bench) console.log(JSON.stringify(bench));
} catch (err) {
  progress.fail(err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));
  const svc = serviceOf(err);
  console.error(`\nerror: ${err instanceof Error ? err.message : String(err)}`);
  if (svc && stack && !(err instanceof ServiceFailed)) {
    const tail = stack.logTail(svc, 15).split('\n').map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l)).join('\n');
    console.error(`\nlast lines of ${stack.logPath(svc).replace(`${root}/`, '')}:\n${tail}`);
  }
  if (stack) console.error(`\nall service logs: ${logDir.replace(`${root}/`, '')}/<service>.log`);
  await shutdown();
  process.exit(1);
}
