/**
 * Continual-learning benchmark: replays a stream of experiences (class-incremental and drift),
 * compares strategies against joint retraining, and measures training / serving speed.
 * Prints tables, then ONE JSON object as the last line.
 *
 *   pnpm bench:learn [--data FILE] [--format csv|jsonl] [--header] [--text-col N|name]
 *                    [--label-col N|name] [--group-col N|name] [--min-class-rows 50] [--quick]
 *                    [--experiences 5] [--seed 42] [--ewc-lambda 100]
 *   iterating: [--scenarios ci1,drift,ci2] [--only combined,replay,trainer] [--skip-joint] [--skip-speed]
 *              [--speed-only] (the training-speed section alone)
 *              [--trainer-options JSON] (--skip-* print strategy rows only, as the last-line JSON)
 *
 * The `trainer` row runs learning's bootstrapCandidate and trainCandidate with TRAINER_DEFAULT_OPTIONS:
 * the exact functions and defaults the trainer service runs (its own held-out validation, gate and
 * test sets included). --trainer-options JSON (DeepPartial<TrainOptions>) replaces those defaults
 * to measure another configuration through the same path.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import {
  argmaxRowForBench,
  BOOTSTRAP_OPTIONS,
  bootstrapCandidate,
  continueTraining,
  createDenseTrainer,
  createRng,
  createOnnxBase,
  createTfClassifier,
  exportAdapter,
  exportBaseOnnx,
  groupKey,
  initBackend,
  readExamples,
  logitsEce,
  splitByGroup,
  tokenize,
  RECOMMENDED_CONTINUAL_OPTIONS,
  TRAINER_DEFAULT_OPTIONS,
  trainBase,
  trainCandidate,
  updateReservoir,
  type DeepPartial,
  type Example,
  type TrainingState,
  type TrainOptions,
} from './lib.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(repoRoot, '../shared/data/flipkart-products/flipkart_com-ecommerce_sample.csv') },
    format: { type: 'string', default: 'csv' },
    header: { type: 'boolean', default: false },
    'text-col': { type: 'string', default: '1' },
    'label-col': { type: 'string', default: '2' },
    'group-col': { type: 'string' },
    'min-class-rows': { type: 'string', default: '50' },
    experiences: { type: 'string', default: '5' },
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '42' },
    'ewc-lambda': { type: 'string', default: '100' },
    // iteration helpers: run a subset (names comma-separated), skip the joint baselines or the speed sections
    only: { type: 'string' },
    scenarios: { type: 'string', default: 'ci1,drift,ci2' },
    'skip-joint': { type: 'boolean', default: false },
    'skip-speed': { type: 'boolean', default: false },
    'speed-only': { type: 'boolean', default: false },
    'trainer-options': { type: 'string' },
  },
});
const col = (v: string): string | number => (/^\d+$/.test(v) ? Number(v) : v);
const seed = Number(args.seed);
const nExp = Number(args.experiences);
const ewcLambda = Number(args['ewc-lambda']);
const trainerOptions: DeepPartial<TrainOptions> = args['trainer-options'] !== undefined ? (JSON.parse(args['trainer-options']) as DeepPartial<TrainOptions>) : TRAINER_DEFAULT_OPTIONS;
const log = (s = ''): void => console.log(s);
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const fmt = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
const pct = (x: number): string => fmt(100 * x, 1);

const backend = await initBackend();
log(`backend: ${backend}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

async function load(depth: number): Promise<Example[]> {
  const rows = await readExamples(args.data, {
    format: args.format === 'jsonl' ? 'jsonl' : 'csv',
    header: args.header,
    textColumn: col(args['text-col']),
    labelColumn: col(args['label-col']),
    ...(args['group-col'] !== undefined ? { groupColumn: col(args['group-col']) } : {}),
    labelDepth: depth,
  });
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const min = Number(args['min-class-rows']);
  return rows.filter((r) => (counts.get(r.label) ?? 0) >= min);
}

interface Experience {
  train: Example[];
  test: Example[];
}

/** Classes sorted by size, dealt round-robin into groups; each group is one experience. */
function classIncremental(rows: Example[]): Experience[] {
  const { train, held } = splitByGroup(rows, { fraction: 0.2, seed });
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || a.localeCompare(b));
  const groupOf = new Map(classes.map((c, i) => [c, i % nExp]));
  return Array.from({ length: nExp }, (_, k) => ({
    train: train.filter((r) => groupOf.get(r.label) === k),
    test: held.filter((r) => groupOf.get(r.label) === k),
  }));
}

/** Same classes, vocabulary shifting: rows go to an experience by the hash of their first word (mostly the brand). */
function drift(rows: Example[]): Experience[] {
  const { train, held } = splitByGroup(rows, { fraction: 0.2, seed });
  const expOf = (e: Example): number => {
    const first = tokenize(e.text)[0] ?? '';
    let h = 2166136261;
    for (let i = 0; i < first.length; i++) h = Math.imul(h ^ first.charCodeAt(i), 16777619);
    return (h >>> 0) % nExp;
  };
  return Array.from({ length: nExp }, (_, k) => ({ train: train.filter((r) => expOf(r) === k), test: held.filter((r) => expOf(r) === k) }));
}

function accuracy(state: TrainingState, rows: readonly Example[]): number {
  if (rows.length === 0) return NaN;
  const clf = createTfClassifier(state);
  const p = clf.probabilities(rows.map((r) => r.text));
  clf.dispose();
  const C = state.labels.length;
  let ok = 0;
  rows.forEach((r, i) => {
    if (state.labels[argmaxRowForBench(p, i, C)] === r.label) ok++;
  });
  return ok / rows.length;
}

/** ECE (15 bins) of the state on rows: raw softmax and with the state's fitted temperature. */
function eceOf(state: TrainingState, rows: readonly Example[]): { raw: number; calibrated: number; temperature: number } {
  const known = new Map(state.labels.map((l, i) => [l, i]));
  const held = rows.filter((r) => known.has(r.label));
  const clf = createTfClassifier(state);
  const z = clf.logits(held.map((r) => r.text));
  clf.dispose();
  const y = Int32Array.from(held.map((r) => known.get(r.label) as number));
  const T = state.temperature ?? 1;
  return { raw: logitsEce(z, y, state.labels.length, 1), calibrated: logitsEce(z, y, state.labels.length, T), temperature: T };
}

interface StrategyRow {
  strategy: string;
  ece?: { raw: number; calibrated: number; temperature: number };
  samplesPerSecond?: number;
  finalAccuracy: number;
  averageForgetting: number;
  backwardTransfer: number;
  secondsPerUpdate: number;
  /** process CPU seconds per update: robust to other processes sharing the cores (one thread trains) */
  cpuSecondsPerUpdate?: number;
  adapterBytes: number;
  accuracyMatrix: number[][];
}

function summarize(strategy: string, R: number[][], seconds: number[], adapterBytes: number): StrategyRow {
  const T = R.length - 1;
  const last = R[T] as number[];
  const valid = (j: number): boolean => Number.isFinite(last[j] as number);
  const js = last.map((_, j) => j).filter(valid);
  const finalAccuracy = js.reduce((a, j) => a + (last[j] as number), 0) / js.length;
  const old = js.filter((j) => j < T);
  const averageForgetting = old.reduce((a, j) => a + Math.max(...R.slice(j, T).map((row) => row[j] as number)) - (last[j] as number), 0) / Math.max(1, old.length);
  const backwardTransfer = old.reduce((a, j) => a + (last[j] as number) - ((R[j] as number[])[j] as number), 0) / Math.max(1, old.length);
  return { strategy, finalAccuracy, averageForgetting, backwardTransfer, secondsPerUpdate: seconds.reduce((a, b) => a + b, 0) / Math.max(1, seconds.length), adapterBytes, accuracyMatrix: R };
}

const baseOpts = (quick: boolean): DeepPartial<TrainOptions> => ({ seed, epochs: quick ? 4 : 8, patience: 2, batchSize: 128 });
type Strategy = DeepPartial<TrainOptions>;
const strategies: Record<string, Strategy> = {
  naive: {},
  // the replay row of the previous runs (no rebalancing), for comparison
  replay: { strategy: { replay: { capacity: 2000, ratio: 0.5, rebalance: false } } },
  distillation: { strategy: { distillation: { temperature: 2, weight: 1 } } },
  ewc: { strategy: { ewc: { lambda: ewcLambda, fisherSamples: 200 } } },
  // best adapter-only (frozen base, small adapter per update)
  'combined-lora': { strategy: { replay: { capacity: 4000, ratio: 0.5, rebalance: true }, distillation: { temperature: 2, weight: 0.5 }, weightAlign: true } },
  // the library's recommended setup (full mode: new base per update)
  combined: RECOMMENDED_CONTINUAL_OPTIONS,
};
const only = args.only?.split(',');
const chosen = Object.entries(strategies).filter(([n]) => only === undefined || only.includes(n));
// Iterating on the trainer row alone: no other strategy needs the shared base.
const needBase = chosen.length > 0 || !args['skip-joint'];

async function runScenario(name: string, exps: Experience[]): Promise<{ name: string; rows: StrategyRow[]; baseSeconds: number; jointSeconds: number[]; jointCpuSeconds: number[] }> {
  log(`\n## ${name}: ${exps.map((e) => `${e.train.length}/${e.test.length}`).join(', ')} train/test rows per experience`);
  const opts = baseOpts(args.quick);
  const first = exps[0] as Experience;
  // One base for every strategy; its state already carries the replay buffer and Fisher.
  // Reservoir at the largest capacity any strategy uses (each strategy's own capacity re-caps it on its first update).
  const base = needBase ? await trainBase(first.train, { ...opts, strategy: { replay: { capacity: 4000, ratio: 0.5 }, ewc: { lambda: ewcLambda, fisherSamples: 200 } } }) : undefined;
  const R0 = base !== undefined ? exps.map((e) => accuracy(base.state, e.test)) : [];
  const rows: StrategyRow[] = [];
  if (only === undefined || only.includes('trainer')) {
    // The trainer service's path: bootstrap on the first experience, then one trainCandidate per
    // experience (fresh rows = the experience, previous = the snapshot), with the trainer's defaults.
    const boot = await bootstrapCandidate(first.train, { ...BOOTSTRAP_OPTIONS, seed });
    let state = boot.state;
    let snapshot = boot.snapshot;
    const R = [exps.map((e) => accuracy(state, e.test))];
    const seconds: number[] = [];
    const cpu: number[] = [];
    let samples = 0;
    let trainSeconds = 0;
    for (let k = 1; k < exps.length; k++) {
      const t0 = performance.now();
      const c0 = cpuSeconds();
      const r = await trainCandidate(state, { fresh: (exps[k] as Experience).train, previous: snapshot }, { ...trainerOptions, seed });
      seconds.push((performance.now() - t0) / 1000);
      cpu.push(cpuSeconds() - c0);
      samples += r.training.samplesPerSecond * r.training.seconds;
      trainSeconds += r.training.seconds;
      state = r.state;
      snapshot = r.snapshot;
      R.push(exps.map((e) => accuracy(state, e.test)));
    }
    const row = summarize('trainer', R, seconds, exportAdapter(state, { version: 'bench@0.0.0' }).bytes.byteLength);
    row.ece = eceOf(state, exps.flatMap((e) => e.test));
    row.samplesPerSecond = samples / Math.max(1e-9, trainSeconds);
    row.cpuSecondsPerUpdate = mean(cpu);
    rows.push(row);
    log(`  trainer: final ${pct(row.finalAccuracy)}%, forgetting ${pct(row.averageForgetting)} pts, ${fmt(row.secondsPerUpdate, 2)} s/update (CPU ${fmt(row.cpuSecondsPerUpdate, 2)} s), ECE ${fmt(row.ece.raw, 3)} → ${fmt(row.ece.calibrated, 3)} (T ${fmt(row.ece.temperature, 2)}); training steps ${fmt(trainSeconds / Math.max(1, seconds.length), 2)} s/update, ${Math.round(samples / Math.max(1, seconds.length))} samples/update`);
  }
  if (base === undefined) return { name, rows, baseSeconds: NaN, jointSeconds: [], jointCpuSeconds: [] };
  for (const [sname, strategy] of chosen) {
    // The base's reservoir was filled at the largest capacity: cut it to this strategy's capacity.
    const capacity = strategy.strategy?.replay?.capacity;
    let state: TrainingState =
      capacity !== undefined && base.state.replay !== undefined
        ? { ...base.state, replay: updateReservoir(base.state.replay, {}, [], capacity, createRng(seed)).buffer }
        : base.state;
    const R = [R0];
    const seconds: number[] = [];
    for (let k = 1; k < exps.length; k++) {
      const t0 = performance.now();
      // full mode makes a new base each update: continue from it (as the trainer does with its champion).
      const from = strategy.mode === 'full' ? { base: state, current: state } : { base: base.state, current: state };
      const r = await continueTraining(from, (exps[k] as Experience).train, { ...opts, ...strategy, strategy: strategy.strategy ?? {} });
      seconds.push((performance.now() - t0) / 1000);
      state = r.state;
      R.push(exps.map((e) => accuracy(state, e.test)));
    }
    rows.push(summarize(sname, R, seconds, exportAdapter(state, { version: 'bench@0.0.0' }).bytes.byteLength));
    const r = rows[rows.length - 1] as StrategyRow;
    log(`  ${sname}: final ${pct(r.finalAccuracy)}%, forgetting ${pct(r.averageForgetting)} pts, ${fmt(r.secondsPerUpdate, 2)} s/update`);
  }
  if (args['skip-joint']) return { name, rows, baseSeconds: base.seconds, jointSeconds: [], jointCpuSeconds: [] };
  // Upper bound: retrain everything from scratch on all data seen so far.
  const R = [R0];
  const jointSeconds: number[] = [];
  const jointCpuSeconds: number[] = [];
  let jointState = base.state;
  for (let k = 1; k < exps.length; k++) {
    const seen = exps.slice(0, k + 1).flatMap((e) => e.train);
    const t0 = performance.now();
    const c0 = cpuSeconds();
    const r = await trainBase(seen, opts);
    jointSeconds.push((performance.now() - t0) / 1000);
    jointCpuSeconds.push(cpuSeconds() - c0);
    jointState = r.state;
    R.push(exps.map((e) => accuracy(jointState, e.test)));
  }
  rows.push(summarize('joint', R, jointSeconds, exportAdapter(jointState, { version: 'bench@0.0.0' }).bytes.byteLength));
  (rows[rows.length - 1] as StrategyRow).ece = eceOf(jointState, exps.flatMap((e) => e.test));
  // Same frozen base, fresh adapter on all data seen so far: the ceiling of adapter-only updates.
  const RA = [R0];
  const jointAdapterSeconds: number[] = [];
  let jaState = base.state;
  for (let k = 1; k < exps.length; k++) {
    const seen = exps.slice(0, k + 1).flatMap((e) => e.train);
    const t0 = performance.now();
    const r = await continueTraining({ base: base.state }, seen, opts);
    jointAdapterSeconds.push((performance.now() - t0) / 1000);
    jaState = r.state;
    RA.push(exps.map((e) => accuracy(jaState, e.test)));
  }
  rows.push(summarize('joint-adapter', RA, jointAdapterSeconds, exportAdapter(jaState, { version: 'bench@0.0.0' }).bytes.byteLength));
  const joint = rows.find((r) => r.strategy === 'joint') as StrategyRow;
  log('joint = full retrain from scratch (trainBase) on all data seen, the upper bound; joint-adapter = fresh adapter on the same frozen base, all data seen');
  log('combined = RECOMMENDED_CONTINUAL_OPTIONS (mode full: embedding + dense + head continue, so each update is a new base ONNX; rebalanced replay 4000 + distillation 0.5 + weight aligning, 3 epochs); combined-lora = same strategy, frozen base');
  log('| strategy | final avg acc % | of joint % | avg forgetting pts | BWT pts | s/update | adapter bytes |');
  log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    log(`| ${r.strategy} | ${pct(r.finalAccuracy)} | ${pct(r.finalAccuracy / joint.finalAccuracy)} | ${pct(r.averageForgetting)} | ${pct(r.backwardTransfer)} | ${fmt(r.secondsPerUpdate, 2)} | ${r.adapterBytes} |`);
  }
  return { name, rows, baseSeconds: base.seconds, jointSeconds, jointCpuSeconds };
}

/**
 * The reference MLP (128 → 256 → 30, Adam, mean cross-entropy) trained by the trainer's own step
 * (createDenseTrainer, what fit runs), in samples/s of wall time and of process CPU time (the
 * cores are often shared: CPU time is the steadier of the two).
 */
function mlpSpeed(batch: number, steps: number): { wall: number; cpu: number } {
  const rng = createRng(seed);
  const C = 30;
  const random = (n: number, s: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * s);
  const model = { features: { buckets: 1, maxFeatures: 1, wordNgrams: 1, charNgramMin: 0, charNgramMax: 0, seed: 0 }, embeddingDim: 128, hiddenUnits: [256] };
  const trainer = createDenseTrainer(
    model,
    { embedding: new Float32Array(0), dense: [{ inputs: 128, units: 256, kernel: random(128 * 256, 0.05), bias: new Float32Array(256) }] },
    { mode: 'full', lora: { rank: 1, alpha: 1, dropout: 0, targets: [] }, layers: {}, head: { kernel: random(256 * C, 0.05), bias: new Float32Array(C) } },
    C,
    'full',
    { learningRate: 1e-3 },
  );
  const x = random(batch * 128, 1);
  const y = Int32Array.from({ length: batch }, () => rng.int(C));
  const lossGradient = (z: Float32Array, n: number, dl: Float32Array): number => {
    let loss = 0;
    for (let r = 0; r < n; r++) {
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, z[r * C + c] as number);
      let sum = 0;
      for (let c = 0; c < C; c++) sum += (dl[r * C + c] = Math.exp((z[r * C + c] as number) - max));
      for (let c = 0; c < C; c++) dl[r * C + c] = (dl[r * C + c] as number) / sum / n;
      dl[r * C + (y[r] as number)] = (dl[r * C + (y[r] as number)] as number) - 1 / n;
      loss += (max + Math.log(sum) - (z[r * C + (y[r] as number)] as number)) / n;
    }
    return loss;
  };
  for (let i = 0; i < 10; i++) trainer.step({ h0: x, n: batch, lossGradient });
  const t0 = performance.now();
  const c0 = cpuSeconds();
  for (let i = 0; i < steps; i++) trainer.step({ h0: x, n: batch, lossGradient });
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  trainer.dispose();
  return { wall: (steps * batch) / wall, cpu: (steps * batch) / cpu };
}

/** The same MLP through tfjs autodiff and tfjs Adam (how fit trained before createDenseTrainer), for comparison. */
function tfjsMlpSpeed(batch: number, steps: number): { wall: number; cpu: number } {
  const W0 = tf.variable(tf.randomNormal([128, 256], 0, 0.05, 'float32', 1));
  const b0 = tf.variable(tf.zeros([256]));
  const W1 = tf.variable(tf.randomNormal([256, 30], 0, 0.05, 'float32', 2));
  const b1 = tf.variable(tf.zeros([30]));
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([batch, 128], 0, 1, 'float32', 3);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 30, 'int32', 4), 30);
  const step = (): void => {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, W0), b0)), W1), b1)) as tf.Scalar, false);
  };
  for (let i = 0; i < 10; i++) step();
  const t0 = performance.now();
  const c0 = cpuSeconds();
  for (let i = 0; i < steps; i++) step();
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - c0;
  tf.dispose([W0, b0, W1, b1, x, y]);
  opt.dispose();
  return { wall: (steps * batch) / wall, cpu: (steps * batch) / cpu };
}

async function servingSpeed(state: TrainingState, texts: string[]): Promise<{ batch1RowsPerSecond: number; batch32RowsPerSecond: number; batch1Microseconds: number; adapterSwapMilliseconds: number }> {
  const onnxBase = await createOnnxBase(exportBaseOnnx(state), { intraOpThreads: 1 });
  const adapter = exportAdapter(state, { version: 'bench@1.0.0' });
  onnxBase.createClassifier(adapter.bytes, adapter.manifest); // warm-up (JIT)
  const t0 = performance.now();
  const clf = onnxBase.createClassifier(adapter.bytes, adapter.manifest);
  const swap = performance.now() - t0;
  for (let i = 0; i < 200; i++) await clf.predictRaw([texts[i % texts.length] as string]);
  const n1 = 3000;
  let t = performance.now();
  for (let i = 0; i < n1; i++) await clf.predictRaw([texts[i % texts.length] as string]);
  const dt1 = (performance.now() - t) / 1000;
  const batches = 300;
  t = performance.now();
  for (let i = 0; i < batches; i++) {
    const s = (i * 32) % Math.max(1, texts.length - 32);
    await clf.predictRaw(texts.slice(s, s + 32));
  }
  const dt32 = (performance.now() - t) / 1000;
  await onnxBase.release();
  return { batch1RowsPerSecond: n1 / dt1, batch32RowsPerSecond: (batches * 32) / dt32, batch1Microseconds: (dt1 / n1) * 1e6, adapterSwapMilliseconds: swap };
}

/** Training speed vs the PyTorch reference (the trainer's step, then tfjs autodiff for comparison). */
function trainingSpeed(): Record<string, number> {
  const speed64 = mlpSpeed(64, 300);
  const speed256 = mlpSpeed(256, 150);
  const speed1024 = mlpSpeed(1024, 40);
  const tfjs64 = tfjsMlpSpeed(64, 150);
  log(`\n## training speed (${backend}, 1 thread, the trainer's step): MLP 128→256→30 Adam: batch 64 ${Math.round(speed64.wall)} samples/s (${Math.round(speed64.cpu)} per CPU second), batch 256 ${Math.round(speed256.wall)} (${Math.round(speed256.cpu)}), batch 1024 ${Math.round(speed1024.wall)} (${Math.round(speed1024.cpu)}); PyTorch reference 27000 → ${pct(speed64.wall / 27000)}% / ${pct(speed256.wall / 27000)}% / ${pct(speed1024.wall / 27000)}% (CPU time: ${pct(speed64.cpu / 27000)}%); tfjs autodiff + Adam, batch 64: ${Math.round(tfjs64.wall)} (${Math.round(tfjs64.cpu)} per CPU second)`);
  const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
  return {
    mlpBatch64: Math.round(speed64.wall),
    mlpBatch256: Math.round(speed256.wall),
    mlpBatch1024: Math.round(speed1024.wall),
    pytorchReference: 27000,
    ratioBatch64: r4(speed64.wall / 27000),
    ratioBatch256: r4(speed256.wall / 27000),
    ratioBatch1024: r4(speed1024.wall / 27000),
    mlpBatch64PerCpuSecond: Math.round(speed64.cpu),
    ratioBatch64CpuTime: r4(speed64.cpu / 27000),
    tfjsAutodiffBatch64: Math.round(tfjs64.wall),
    tfjsAutodiffBatch64PerCpuSecond: Math.round(tfjs64.cpu),
  };
}
if (args['speed-only']) {
  console.log(JSON.stringify({ backend, loadAverage: loadavg().map((x) => Math.round(x * 100) / 100), trainingSpeed: trainingSpeed() }));
  process.exit(0);
}

const started = performance.now();
const depth1 = await load(1);
const depth2 = await load(2);
const scenarios: Awaited<ReturnType<typeof runScenario>>[] = [];
const skipped: { scenario: string; reason: string }[] = [];
const wanted = new Set(args.scenarios.split(','));
const classesOf = (rows: Example[]): number => new Set(rows.map((r) => r.label)).size;
/** Why the experiences cannot make a scenario (undefined when they can). */
const unformable = (exps: Experience[]): string | undefined => {
  const empty = exps.findIndex((e) => e.train.length === 0 || e.test.length === 0);
  return empty >= 0 ? `experience ${empty + 1} has no training or test rows (try fewer --experiences or a lower --min-class-rows)` : undefined;
};
const maybeRun = async (key: string, name: string, make: () => Experience[], precondition?: string): Promise<void> => {
  if (!wanted.has(key)) return;
  const reason = precondition ?? unformable(make());
  if (reason !== undefined) {
    skipped.push({ scenario: name, reason });
    log(`\n## ${name}: skipped, ${reason}`);
    return;
  }
  scenarios.push(await runScenario(name, make()));
};
await maybeRun('ci1', `class-incremental, depth 1 (${classesOf(depth1)} classes)`, () => classIncremental(depth1), classesOf(depth1) < 2 * nExp ? `${classesOf(depth1)} classes cannot make ${nExp} class-incremental experiences of at least 2 classes` : undefined);
await maybeRun('drift', 'drift, depth 1', () => drift(depth1));
if (!args.quick) {
  const flat = classesOf(depth2) === classesOf(depth1) && depth2.every((r, i) => r.label === depth1[i]?.label);
  await maybeRun('ci2', `class-incremental, depth 2 (${classesOf(depth2)} classes)`, () => classIncremental(depth2), flat ? 'the labels have no second level (no "a >> b" paths), so depth 2 is depth 1' : classesOf(depth2) < 2 * nExp ? `${classesOf(depth2)} classes cannot make ${nExp} experiences` : undefined);
}
if (args['skip-joint'] || args['skip-speed']) {
  // Iteration mode: strategy rows only.
  console.log(JSON.stringify({ backend, skipped, scenarios: scenarios.map((s) => ({ name: s.name, jointSeconds: s.jointSeconds, jointCpuSeconds: s.jointCpuSeconds, strategies: s.rows })) }));
  process.exit(0);
}

// Full base training on the whole file (target: 20,000 rows < 30 s).
const allRows = depth1;
const full = await trainBase(allRows, baseOpts(args.quick));
log(`\n## full base training: ${allRows.length} rows, ${full.epochs} epochs (best ${full.bestEpoch}), ${fmt(full.seconds, 1)} s, ${Math.round(full.samplesPerSecond)} samples/s, val acc ${pct(full.validation.accuracy)}%, macro-F1 ${pct(full.validation.macroF1)}%`);

// Training speed vs the PyTorch reference.
const speed = trainingSpeed();

const serving = await servingSpeed(full.state, allRows.slice(0, 2000).map((r) => r.text));
log(`## serving (onnxruntime-node, 1 intra-op thread): batch 1 ${Math.round(serving.batch1RowsPerSecond)} rows/s (${fmt(serving.batch1Microseconds, 0)} µs/call), batch 32 ${Math.round(serving.batch32RowsPerSecond)} rows/s; adapter swap ${fmt(serving.adapterSwapMilliseconds, 2)} ms`);

const summary = scenarios.map((s) => {
  const joint = s.rows.find((r) => r.strategy === 'joint') as StrategyRow;
  const continual = s.rows.filter((r) => !r.strategy.startsWith('joint'));
  const jointAdapter = s.rows.find((r) => r.strategy === 'joint-adapter') as StrategyRow;
  const best = continual.reduce((a, b) => (b.finalAccuracy > a.finalAccuracy ? b : a));
  const jointSecondsLast = s.jointSeconds[s.jointSeconds.length - 1] ?? NaN;
  const jointCpuLast = s.jointCpuSeconds[s.jointCpuSeconds.length - 1] ?? NaN;
  const trainer = s.rows.find((r) => r.strategy === 'trainer');
  return {
    scenario: s.name,
    best: best.strategy,
    bestOfJoint: best.finalAccuracy / joint.finalAccuracy,
    bestOfJointAdapter: best.finalAccuracy / jointAdapter.finalAccuracy,
    bestForgettingPoints: 100 * best.averageForgetting,
    updateOverJointTime: best.secondsPerUpdate / jointSecondsLast,
    ...(trainer !== undefined
      ? {
          trainerOfJoint: trainer.finalAccuracy / joint.finalAccuracy,
          trainerForgettingPoints: 100 * trainer.averageForgetting,
          trainerUpdateOverJointTime: trainer.secondsPerUpdate / jointSecondsLast,
          trainerUpdateOverJointCpuTime: (trainer.cpuSecondsPerUpdate ?? NaN) / jointCpuLast,
          ece: trainer.ece,
        }
      : {}),
    targets: {
      accuracy97: best.finalAccuracy / joint.finalAccuracy >= 0.97,
      forgettingUnder2: 100 * best.averageForgetting < 2,
      updateUnderFifth: best.secondsPerUpdate < jointSecondsLast / 5,
    },
  };
});
log('\n## targets');
for (const s of summary) {
  if (s.trainerOfJoint !== undefined) log(`${s.scenario}: trainer ${pct(s.trainerOfJoint)}% of joint (≥97: ${s.trainerOfJoint >= 0.97}), forgetting ${fmt(s.trainerForgettingPoints ?? NaN, 2)} pts (≤2: ${(s.trainerForgettingPoints ?? Infinity) <= 2}), update/joint time ${fmt(s.trainerUpdateOverJointTime ?? NaN, 3)} (≤0.2: ${(s.trainerUpdateOverJointTime ?? Infinity) <= 0.2}; CPU time ${fmt(s.trainerUpdateOverJointCpuTime ?? NaN, 3)}), ECE ${fmt(s.ece?.raw ?? NaN, 3)} → ${fmt(s.ece?.calibrated ?? NaN, 3)} (≤0.03: ${(s.ece?.calibrated ?? Infinity) <= 0.03})`);
  log(`${s.scenario}: best=${s.best} ${pct(s.bestOfJoint)}% of joint (≥97: ${s.targets.accuracy97}; ${pct(s.bestOfJointAdapter)}% of joint-adapter), forgetting ${fmt(s.bestForgettingPoints, 2)} pts (<2: ${s.targets.forgettingUnder2}), update/joint time ${fmt(s.updateOverJointTime, 3)} (<0.2: ${s.targets.updateUnderFifth})`);
}
log(`full base training < 30 s: ${full.seconds < 30} (${fmt(full.seconds, 1)} s); total bench ${fmt((performance.now() - started) / 1000, 0)} s`);

const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;
/** Mean training throughput of the trainer rows (samples/s inside fit, the path the trainer runs). */
const trainerSpeed = (): number => {
  const speeds = scenarios.flatMap((s) => s.rows.filter((r) => r.strategy === 'trainer' && r.samplesPerSecond !== undefined).map((r) => r.samplesPerSecond as number));
  return Math.round(speeds.reduce((a, b) => a + b, 0) / Math.max(1, speeds.length));
};
console.log(
  JSON.stringify({
    backend,
    data: args.data,
    loadAverage: loadavg().map((x) => round(x, 2)),
    skipped,
    scenarios: scenarios.map((s) => ({
      name: s.name,
      baseSeconds: round(s.baseSeconds, 2),
      jointSeconds: s.jointSeconds.map((x) => round(x, 2)),
      jointCpuSeconds: s.jointCpuSeconds.map((x) => round(x, 2)),
      strategies: s.rows.map((r) => ({
        strategy: r.strategy,
        finalAccuracy: round(r.finalAccuracy),
        averageForgetting: round(r.averageForgetting),
        backwardTransfer: round(r.backwardTransfer),
        secondsPerUpdate: round(r.secondsPerUpdate, 2),
        ...(r.cpuSecondsPerUpdate !== undefined ? { cpuSecondsPerUpdate: round(r.cpuSecondsPerUpdate, 2) } : {}),
        adapterBytes: r.adapterBytes,
        ...(r.ece !== undefined ? { ece: { raw: round(r.ece.raw), calibrated: round(r.ece.calibrated), temperature: round(r.ece.temperature, 3) } } : {}),
        ...(r.samplesPerSecond !== undefined ? { samplesPerSecond: Math.round(r.samplesPerSecond) } : {}),
      })),
    })),
    summary,
    fullBaseTraining: { rows: allRows.length, seconds: round(full.seconds, 2), samplesPerSecond: Math.round(full.samplesPerSecond), valAccuracy: round(full.validation.accuracy) },
    trainingSpeed: { trainerSamplesPerSecond: trainerSpeed(), ...speed },
    serving: { batch1RowsPerSecond: Math.round(serving.batch1RowsPerSecond), batch32RowsPerSecond: Math.round(serving.batch32RowsPerSecond), batch1Microseconds: round(serving.batch1Microseconds, 1), adapterSwapMilliseconds: round(serving.adapterSwapMilliseconds, 3) },
    totalSeconds: round((performance.now() - started) / 1000, 1),
  }),
);
