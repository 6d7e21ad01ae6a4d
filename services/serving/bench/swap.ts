/**
 * bench:swap — hot-swap time and failed requests during swaps under HTTP load, and the time from a
 * retraining trigger to the challenger answering requests (20k-row model, CPU).
 * Last line: one JSON object.
 */
import { continueTraining, initBackend } from '@flywheel/learning';
import { makeEvent, type DataOf } from '@flywheel/contracts';
import { publishVersion, REFERENCE_OPTIONS, trainState } from '../src/testing/modelFixtures.js';
import { connectPlatform, load, productExamples, publishModel, referenceModel, round, serveModel, table, type LoadResult } from './common.js';

const ROUND_SECONDS = Number(process.env.BENCH_SWAP_ROUND_SECONDS ?? 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

const data = await productExamples();
const p = await connectPlatform('bench-swap');
const model = `bench-swap-${p.run}`;
await initBackend();

console.log(`training the champion: embedding bag 128 → 256 → labels on all ${data.examples.length} ${data.source} rows…`);
const champion = await trainState(data.examples, { ...REFERENCE_OPTIONS, epochs: 2 });
// A second base (other weights → other baseVersion) for a swap that has to load a new ONNX base.
const otherBase = await referenceModel(data.examples, 2_000);
console.log(`trained in ${round(champion.seconds, 1)} s; uploading 8 versions…`);
const patchVersions = ['1.0.1', '1.0.2', '1.0.3', '1.0.4', '1.0.5'];
await publishModel(p, model, champion.state, ['1.0.0', ...patchVersions]);
await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version: '2.0.0', state: otherBase.state, role: 'registered' });

const serving = await serveModel(p, model);
console.log('serving; swapping under load…');
const base = `http://127.0.0.1:${serving.port}/v1/models/${model}`;
const info = async () => (await (await fetch(base)).json()) as { champion?: { version: string }; challenger?: { version: string }; lastSwap?: { seconds: number; action: string } };
const update = (data: DataOf<'modelUpdates'>) => p.bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', { source: '/flywheel/bench', subject: model, data }));
const waitUntil = async (what: string, cond: () => Promise<boolean>, timeoutMs = 60_000) => {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};
const one = { text: data.examples[123]?.text ?? 'a product', subjectId: 'user-7' };

// --- phase A: swaps under load ------------------------------------------------------------------------
// One load round per swap: autocannon (separate process) runs ROUND_SECONDS at 50 connections and
// the swap is triggered one second in; the round's failures are the swap's failures.
interface SwapRow { to: string; kind: string; swapMs: number; publishToServingMs: number; load: LoadResult }
const swaps: SwapRow[] = [];
const plan: { to: string; kind: string }[] = [
  ...patchVersions.map((v) => ({ to: v, kind: 'adapter' })),
  { to: '2.0.0', kind: 'new base' },
  { to: '1.0.0', kind: 'adapter + base reload' },
];
for (const step of plan) {
  const round = load(`${base}/predict`, one, { connections: 50, seconds: ROUND_SECONDS });
  await sleep(1_000);
  const t0 = performance.now();
  await update({ action: 'promoted', version: step.to as never, reason: 'bench' });
  await waitUntil(`champion ${step.to}`, async () => (await info()).champion?.version === step.to);
  const publishToServingMs = performance.now() - t0;
  const swapMs = ((await info()).lastSwap?.seconds ?? Number.NaN) * 1000;
  swaps.push({ ...step, swapMs, publishToServingMs, load: await round });
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
const challengerVersion = '1.0.6';
const published = await publishVersion({ registry: p.registry, artifacts: p.artifacts }, { model, version: challengerVersion, state: retrained.state, role: 'challenger' });
const tUploaded = performance.now();
await update({ action: 'challenger_registered', version: challengerVersion as never, artifact: published.artifact, metrics: published.metrics });
await update({ action: 'routing_changed', routing: { champion: '1.0.0' as never, challenger: challengerVersion as never, challengerShareBps: 10_000, salt: 'bench', revision: 1 } });
let firstAnswer = 0;
await waitUntil('the challenger answering', async () => {
  const r = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(one) });
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

console.log(`\nswap bench (load: autocannon in a separate process, 50 connections, batch 1, ${ROUND_SECONDS} s round per swap; loopback, 2 shared cores)`);
table(swaps.map((s) => ({
  swap: `promote ${s.to} (${s.kind})`, 'swap ms (event → serving)': round(s.swapMs, 1), 'publish → serving ms': round(s.publishToServingMs, 0),
  'req/s': round(s.load.requestsPerSecond, 0), 'p99 ms': s.load.p99Ms, requests: s.load.total, failed: s.load.failed,
})));
console.log(`\ntrigger → challenger answering (${trigger.rows} rows, continueTraining 2 epochs, replay + distillation + EWC, ${trigger.backend}):`);
table([{ train: `${trigger.trainSeconds} s`, 'upload + register': `${trigger.uploadAndRegisterSeconds} s`, 'announce → answering': `${trigger.announceToAnsweringSeconds} s`, total: `${trigger.totalSeconds} s` }]);

const adapterSwaps = swaps.filter((s) => s.kind === 'adapter').map((s) => s.swapMs);
const result = {
  bench: 'swap',
  swaps: swaps.length,
  adapterSwapMs: { p50: round(quantile(adapterSwaps, 0.5), 1), max: round(Math.max(...adapterSwaps), 1) },
  newBaseSwapMs: round(swaps.find((s) => s.kind === 'new base')?.swapMs ?? Number.NaN, 1),
  baseReloadSwapMs: round(swaps.find((s) => s.kind === 'adapter + base reload')?.swapMs ?? Number.NaN, 1),
  publishToServingMs: { p50: round(quantile(swaps.map((s) => s.publishToServingMs), 0.5), 0), max: round(Math.max(...swaps.map((s) => s.publishToServingMs)), 0) },
  requestsDuringSwaps: swaps.reduce((s, x) => s + x.load.total, 0),
  failedRequestsDuringSwaps: swaps.reduce((s, x) => s + x.load.failed, 0),
  requestsPerSecondDuringSwaps: round(quantile(swaps.map((s) => s.load.requestsPerSecond), 0.5), 0),
  triggerToChallenger: { ...trigger, measuredWith: '@flywheel/learning continueTraining + registry upload + model-updates (not the trainer service job)' },
};
console.log(JSON.stringify(result));
process.exit(0);
