/**
 * bench:swap — hot-swap time and failed requests during swaps under HTTP load, and the time from a
 * retraining trigger to the challenger answering requests (20k-row model, CPU).
 * Last line: one JSON object.
 */
import { cpus, loadavg } from 'node:os';
import { continueTraining, initBackend } from '@flywheel/learning/train';
import { makeEvent, type DataOf } from '@flywheel/contracts';
import { adminHeaders } from '../src/testing/inProcessServing.js';
import { publishVersion, REFERENCE_OPTIONS, trainState } from '../src/testing/modelFixtures.js';
import { connectPlatform, load, productExamples, publishModel, referenceModel, round, serveModel, table, type LoadResult } from './common.js';

const ROUND_SECONDS = Number(process.env.BENCH_SWAP_ROUND_SECONDS ?? 5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * Training blocks the event loop for tens of seconds; meanwhile the S3 server closes idle keep-alive
 * sockets, and the first request after would reuse one before its close is seen ("socket hang up").
 * One short turn of the loop lets the HTTP agent drop them.
 */
const settleSockets = () => sleep(50);
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

const loadBefore = loadavg()[0] ?? 0;
const data = await productExamples();
const p = await connectPlatform('bench-swap');
const model = `bench-swap-${p.run}`;
await initBackend();

console.log(`training the champion: embedding bag 128 → 256 → labels on all ${data.examples.length} ${data.source} rows…`);
const champion = await trainState(data.examples, { ...REFERENCE_OPTIONS, epochs: 2 });
// A second base (other weights → other baseVersion) for a swap that has to load a new ONNX base.
const otherBase = await referenceModel(data.examples, 2_000);
console.log(`trained in ${round(champion.seconds, 1)} s; uploading 8 versions…`);
await settleSockets();
const patchVersions = ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'];
await publishModel(p, model, champion.state, ['1.0.0']);
const published = new Map<string, Awaited<ReturnType<typeof publishVersion>>>();
for (const v of patchVersions) published.set(v, await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version: v, state: champion.state, role: 'registered' }));
published.set('2.0.0', await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version: '2.0.0', state: otherBase.state, role: 'registered' }));

const serving = await serveModel(p, model);
console.log('serving; swapping under load…');
const base = `http://127.0.0.1:${serving.port}/v1/models/${model}`;
const info = async () => (await (await fetch(base, { headers: adminHeaders })).json()) as { champion?: { version: string }; challenger?: { version: string }; lastSwap?: { seconds: number; action: string } };
const update = (data: DataOf<'modelUpdates'>) => p.bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: '/flywheel/ab-router/bench-swap', subject: model, data }));
const waitUntil = async (what: string, cond: () => Promise<boolean>, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};
const one = { text: data.examples[123]?.text ?? 'a product', subjectId: 'user-7' };

// --- phase A: swaps under load ------------------------------------------------------------------------
// The real lifecycle per version: challenger_registered (loads in the background: the cold part),
// routing_changed (challenger on 50 %), promoted (champion at 100 %). One load round per version:
// autocannon (separate process) at 50 connections, the updates start one second in; the round's
// failures are the swaps' failures. Last, a rollback to a version that was already released (cold).
interface SwapRow { version: string; kind: string; loadMs: number; routeMs: number; promoteMs: number; publishToServingMs: number; load: LoadResult }
const swaps: SwapRow[] = [];
const lastSwapMs = async () => ((await info()).lastSwap?.seconds ?? Number.NaN) * 1000;
let revision = 0;
let current = '1.0.0';
const plan = [...patchVersions.map((v) => ({ version: v, kind: 'adapter' })), { version: '2.0.0', kind: 'new base' }];
for (const step of plan) {
  const round = load(`${base}/predict`, one, { connections: 50, seconds: ROUND_SECONDS });
  await sleep(1_000);
  const v = step.version;
  const record = published.get(v)!;
  await update({ action: 'challenger_registered', version: v as never, artifact: record.artifact, metrics: record.metrics });
  await waitUntil(`${v} loaded`, async () => ((await info()) as { standby?: string[] }).standby?.includes(v) === true);
  const loadMs = await lastSwapMs();
  await update({ action: 'routing_changed', routing: { champion: current as never, challenger: v as never, challengerShareBps: 5_000, salt: `exp-${v}`, revision: ++revision } });
  await waitUntil(`${v} challenger`, async () => (await info()).challenger?.version === v);
  const routeMs = await lastSwapMs();
  const t0 = performance.now();
  await update({ action: 'promoted', version: v as never, previous: current as never, reason: 'bench' });
  await waitUntil(`${v} champion`, async () => (await info()).champion?.version === v);
  const publishToServingMs = performance.now() - t0;
  const promoteMs = await lastSwapMs();
  current = v;
  swaps.push({ ...step, loadMs, routeMs, promoteMs, publishToServingMs, load: await round });
}
{
  const round = load(`${base}/predict`, one, { connections: 50, seconds: ROUND_SECONDS });
  await sleep(1_000);
  const t0 = performance.now();
  await update({ action: 'rolled_back', version: '1.0.0' as never, from: current as never, reason: 'bench', automatic: true });
  await waitUntil('rollback to 1.0.0', async () => (await info()).champion?.version === '1.0.0');
  const publishToServingMs = performance.now() - t0;
  const ms = await lastSwapMs();
  swaps.push({ version: '1.0.0', kind: 'rollback, released (cold + base)', loadMs: ms, routeMs: Number.NaN, promoteMs: ms, publishToServingMs, load: await round });
}

// --- phase B: trigger → challenger answering ------------------------------------------------------------
console.log('retraining a challenger (trigger → answering)…');
// Measured with @flywheel/learning directly (train → export → upload + register → announce → first
// answer); the trainer's own job (data assembly from PostgreSQL, gates) is not part of this number.
const feedback = data.examples.filter((_, i) => i % 10 === 0).map((e) => ({ ...e, source: 'human_correction' as const }));
const t0 = performance.now();
const retrained = await continueTraining({ base: champion.state, current: champion.state }, [...data.examples, ...feedback], {
  ...REFERENCE_OPTIONS,
  epochs: 2,
  strategy: { replay: { capacity: 2000, ratio: 0.5 }, distillation: { temperature: 2, weight: 0.5 }, ewc: { lambda: 100, fisherSamples: 500, decay: 0.9 } },
});
const tTrained = performance.now();
await settleSockets();
const challengerVersion = '1.0.6';
const challengerRecord = await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version: challengerVersion, state: retrained.state, role: 'challenger' });
const tUploaded = performance.now();
await update({ action: 'challenger_registered', version: challengerVersion as never, artifact: challengerRecord.artifact, metrics: challengerRecord.metrics });
await update({ action: 'routing_changed', routing: { champion: '1.0.0' as never, challenger: challengerVersion as never, challengerShareBps: 10_000, salt: 'bench', revision: ++revision } });
let firstAnswer = 0;
await waitUntil('the challenger answering', async () => {
  const r = await fetch(`${base}/predict`, { method: 'POST', headers: adminHeaders, body: JSON.stringify(one) });
  const body = (await r.json()) as { modelVersion?: string; variant?: string };
  if (body.modelVersion === challengerVersion && body.variant === 'challenger') firstAnswer = performance.now();
  return firstAnswer > 0;
});
const trigger = {
  rows: data.examples.length + feedback.length,
  trainSeconds: round((tTrained - t0) / 1000, 1),
  uploadAndRegisterSeconds: round((tUploaded - tTrained) / 1000, 2),
  announceToAnsweringSeconds: round((firstAnswer - tUploaded) / 1000, 2),
  totalSeconds: round((firstAnswer - t0) / 1000, 1),
  backend: retrained.backend,
};

await serving.close();
await p.close();

console.log(`\nswap bench (load: autocannon in a separate process, 50 connections, batch 1, ${ROUND_SECONDS} s round per version; loopback, 2 shared cores)`);
console.log('load = challenger_registered received → loaded (background, cold); route/promote = update received → new snapshot serving');
table(swaps.map((s) => ({
  version: `${s.version} (${s.kind})`, 'load ms': round(s.loadMs, 1), 'route swap ms': round(s.routeMs, 2), 'promote swap ms': round(s.promoteMs, 2),
  'promote: publish → serving ms': round(s.publishToServingMs, 0), 'req/s': round(s.load.requestsPerSecond, 0), 'p99 ms': s.load.p99Ms, requests: s.load.total, failed: s.load.failed,
})));
console.log(`\ntrigger → challenger answering (${trigger.rows} rows, continueTraining 2 epochs, replay + distillation + EWC, ${trigger.backend}):`);
table([{ train: `${trigger.trainSeconds} s`, 'upload + register': `${trigger.uploadAndRegisterSeconds} s`, 'announce → answering': `${trigger.announceToAnsweringSeconds} s`, total: `${trigger.totalSeconds} s` }]);

const warm = swaps.filter((s) => !s.kind.startsWith('rollback'));
const warmSwaps = warm.flatMap((s) => [s.routeMs, s.promoteMs]);
const adapterLoads = warm.filter((s) => s.kind === 'adapter').map((s) => s.loadMs);
const rollback = swaps.find((s) => s.kind.startsWith('rollback'));
const result = {
  bench: 'swap',
  swaps: warmSwaps.length + 1,
  swapMs: { p50: round(quantile(warmSwaps, 0.5), 2), max: round(Math.max(...warmSwaps), 2), what: 'routing_changed / promoted of a loaded version: update received -> new snapshot serving' },
  coldLoadMs: { adapterP50: round(quantile(adapterLoads, 0.5), 1), adapterMax: round(Math.max(...adapterLoads), 1), newBase: round(warm.find((s) => s.kind === 'new base')?.loadMs ?? Number.NaN, 1), what: 'challenger_registered received -> loaded in standby (registry + S3 + verify + merge), under load' },
  rollbackToReleasedMs: round(rollback?.promoteMs ?? Number.NaN, 1),
  publishToServingMs: { p50: round(quantile(swaps.map((s) => s.publishToServingMs), 0.5), 0), max: round(Math.max(...swaps.map((s) => s.publishToServingMs)), 0) },
  requestsDuringSwaps: swaps.reduce((s, x) => s + x.load.total, 0),
  failedRequestsDuringSwaps: swaps.reduce((s, x) => s + x.load.failed, 0),
  requestsPerSecondDuringSwaps: round(quantile(swaps.map((s) => s.load.requestsPerSecond), 0.5), 0),
  triggerToChallenger: { ...trigger, measuredWith: '@flywheel/learning continueTraining + registry upload + model-updates (not the trainer service job)' },
};
// Other work on the machine moves these numbers a lot: say how busy it was.
const machine = { cpus: cpus().length, loadAverage1mBefore: round(loadBefore, 1), loadAverage1mAfter: round(loadavg()[0] ?? 0, 1) };
console.log(`\nmachine: ${machine.cpus} cpus, 1-minute load average ${machine.loadAverage1mBefore} before, ${machine.loadAverage1mAfter} after`);
console.log(JSON.stringify({ ...result, machine }));
process.exit(0);
