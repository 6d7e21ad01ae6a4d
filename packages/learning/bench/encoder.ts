/**
 * bench:encoder — what a pretrained base adds (issue 15, Measure): on the shipped data, for the base
 * kinds `ngram` (hashed n-grams, trained), `encoder` (the GloVe folder of tools/encoder-glove, frozen)
 * and `hybrid` (GloVe embedding and a hashed n-gram bag side by side), the held-out accuracy and
 * macro-F1, bench:learn's class-incremental and drift scenarios (of joint %, forgetting), few-shot
 * accuracy on a new category after 20 and 50 corrections, and the embedding cache hit rate of the
 * retrains; then serving throughput of a classifier on the GloVe folder under 64 concurrent connections
 * with micro-batching on and off (services/serving/bench/microBatch.ts run as a child process with
 * BENCH_ENCODER_DIR; its last JSON line becomes `microBatching`). Prints tables, then ONE JSON object
 * as the last line.
 *
 *   pnpm bench:encoder [--glove DIR] [--datasets flipkart,clinc150] [--kinds ngram,encoder,hybrid]
 *                      [--subsample ROWS] [--quick] [--experiences 5] [--seed 42] [--hybrid-buckets 1024]
 *                      [--skip-microbatch] [--few-shot-only] [--update-options JSON]
 *
 * --few-shot-only: only the few-shot figures (no joint, scenarios or serving), for tuning how an
 * update learns a new category from a few corrections.
 *
 * Every kind trains its base with the same options (8 epochs, replay reservoir 4000), then updates with
 * the trainer's defaults for its kind (TRAINER_DEFAULT_OPTIONS for ngram, ENCODER_TRAINER_DEFAULT_OPTIONS
 * for encoder and hybrid); joint = a base trained on all
 * training rows of the split, which is also the held-out model.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MemoryEmbeddingCache, type EmbeddingCache } from '../src/encoder/embeddingCache.js';
import { loadTextEncoder } from '../src/encoder/encoderBase.js';
import { continueEncoderTraining, encoderRows, trainEncoderBase, type EmbeddingUse } from '../src/encoder/encoderTraining.js';
import { hybridEncoder, type FeatureEncoder } from '../src/encoder/hybridEncoder.js';
import { evaluate } from '../src/evaluate.js';
import { argmaxRowForBench, continueTraining, createTfClassifier, initBackend, readExamples, splitByGroup, trainBase, TRAINER_DEFAULT_OPTIONS, ENCODER_TRAINER_DEFAULT_OPTIONS, type DeepPartial, type Example, type TrainingState, type TrainOptions } from './lib.js';
import { classIncremental, drift, summarizeMatrix, type Experience } from './scenarios.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dataDir = resolve(repoRoot, '../shared/data');
const { values: args } = parseArgs({
  options: {
    glove: { type: 'string', default: join(repoRoot, '.flywheel', 'cache', 'encoders', 'glove-sg-100d') },
    datasets: { type: 'string', default: 'flipkart,clinc150' },
    kinds: { type: 'string', default: 'ngram,encoder,hybrid' },
    subsample: { type: 'string' },
    quick: { type: 'boolean', default: false },
    experiences: { type: 'string', default: '5' },
    seed: { type: 'string', default: '42' },
    'hybrid-buckets': { type: 'string', default: '1024' },
    'skip-microbatch': { type: 'boolean', default: false },
    'few-shot-only': { type: 'boolean', default: false },
    'update-options': { type: 'string' },
  },
});
const seed = Number(args.seed);
const nExp = Number(args.experiences);
const log = (s = ''): void => console.log(s);
const pct = (x: number): string => (Number.isFinite(x) ? (100 * x).toFixed(1) : '-');
const round = (x: number, d = 4): number => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : NaN);
const started = performance.now();

type KindName = 'ngram' | 'encoder' | 'hybrid';
const kindNames = args.kinds.split(',') as KindName[];
const backend = await initBackend();
log(`backend ${backend}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const baseOptions: DeepPartial<TrainOptions> = { seed, epochs: args.quick ? 4 : 8, patience: 2, batchSize: 128, strategy: { replay: { capacity: 4000, ratio: 0.5 } } };
// --update-options JSON: fields over the trainer's defaults for every update (tuning, e.g. '{"learningRate":{"continued":0.01}}');
// the defaults are the trainer's for the base kind: n-gram models and encoder bases have their own.
const updateOverrides = args['update-options'] !== undefined ? (JSON.parse(args['update-options']) as DeepPartial<TrainOptions>) : {};
const ngramUpdateOptions: DeepPartial<TrainOptions> = { ...TRAINER_DEFAULT_OPTIONS, seed, ...updateOverrides };
const encoderKindUpdateOptions: DeepPartial<TrainOptions> = { ...ENCODER_TRAINER_DEFAULT_OPTIONS, seed, ...updateOverrides };

/** One base kind: how it trains, continues and predicts. Encoder kinds report what each run asked of the cache. */
interface Kind {
  name: KindName;
  train(examples: readonly Example[], cache?: EmbeddingCache): Promise<{ state: TrainingState; use?: EmbeddingUse }>;
  update(state: TrainingState, examples: readonly Example[], cache?: EmbeddingCache): Promise<{ state: TrainingState; use?: EmbeddingUse }>;
  predict(state: TrainingState, rows: readonly Example[]): Promise<string[]>;
}

function argmaxLabels(state: TrainingState, probabilities: Float32Array, n: number): string[] {
  const C = state.labels.length;
  return Array.from({ length: n }, (_, i) => state.labels[argmaxRowForBench(probabilities, i, C)]!);
}

const ngramKind: Kind = {
  name: 'ngram',
  train: async (examples) => ({ state: (await trainBase(examples, baseOptions)).state }),
  update: async (state, examples) => ({ state: (await continueTraining({ base: state, current: state }, examples, ngramUpdateOptions)).state }),
  async predict(state, rows) {
    const clf = createTfClassifier(state);
    const p = clf.probabilities(rows.map((r) => r.text));
    clf.dispose();
    return argmaxLabels(state, p, rows.length);
  },
};

function featureKind(name: KindName, encoder: FeatureEncoder): Kind {
  // evaluation texts are embedded once per kind, apart from the training caches whose hits are measured
  const evalCache = new MemoryEmbeddingCache(200_000);
  const fresh = (cache: EmbeddingCache | undefined) => ({ encoder, cache: cache ?? new MemoryEmbeddingCache(200_000) });
  return {
    name,
    async train(examples, cache) {
      const r = await trainEncoderBase(examples, fresh(cache), baseOptions);
      return { state: r.state, use: r.embeddings };
    },
    async update(state, examples, cache) {
      const r = await continueEncoderTraining({ base: state, current: state }, examples, fresh(cache), encoderKindUpdateOptions);
      return { state: r.state, use: r.embeddings };
    },
    async predict(state, rows) {
      const texts = rows.map((r) => r.text);
      const { rowsOf } = await encoderRows({ encoder, cache: evalCache }, texts);
      const clf = createTfClassifier(state, { rowsOf });
      const p = clf.probabilities(texts);
      clf.dispose();
      return argmaxLabels(state, p, rows.length);
    },
  };
}

async function accuracyOf(kind: Kind, state: TrainingState, rows: readonly Example[]): Promise<number> {
  if (rows.length === 0) return NaN;
  const predicted = await kind.predict(state, rows);
  return predicted.filter((p, i) => p === rows[i]!.label).length / rows.length;
}

// ---- data ----
interface Dataset {
  name: string;
  rows: Example[];
}
async function loadDataset(name: string): Promise<Dataset> {
  const rows =
    name === 'flipkart'
      ? await readExamples(join(dataDir, 'flipkart-products', 'flipkart_com-ecommerce_sample.csv'), { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 })
      : name === 'clinc150'
        ? await readExamples(join(dataDir, 'clinc150', 'clinc150.csv'), { format: 'csv', header: true, textColumn: 'text', labelColumn: 'label', labelDepth: 1 })
        : undefined;
  if (rows === undefined) throw new Error(`unknown dataset ${name}; use flipkart or clinc150`);
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  let kept = rows.filter((r) => (counts.get(r.label) ?? 0) >= 50);
  if (args.subsample !== undefined && kept.length > Number(args.subsample)) {
    // every k-th row of a seeded split order: the same subsample for every kind
    const { train, held } = splitByGroup(kept, { fraction: 0.5, seed: seed + 1 });
    kept = [...held, ...train].slice(0, Number(args.subsample));
  }
  return { name, rows: kept };
}

// ---- measures ----
interface ScenarioResult {
  ofJoint: number;
  forgetting: number;
  finalAccuracy: number;
  jointAccuracy: number;
  /** per update: texts answered from the cache / texts the update needed */
  cacheHitRates: number[];
}

async function scenario(kind: Kind, exps: Experience[], joint: TrainingState): Promise<ScenarioResult> {
  const cache = new MemoryEmbeddingCache(200_000);
  let { state } = await kind.train(exps[0]!.train, cache);
  const R: number[][] = [await Promise.all(exps.map((e) => accuracyOf(kind, state, e.test)))];
  const cacheHitRates: number[] = [];
  for (let k = 1; k < exps.length; k++) {
    const r = await kind.update(state, exps[k]!.train, cache);
    state = r.state;
    if (r.use !== undefined) cacheHitRates.push(r.use.hits / Math.max(1, r.use.texts));
    R.push(await Promise.all(exps.map((e) => accuracyOf(kind, state, e.test))));
  }
  const { finalAccuracy, averageForgetting } = summarizeMatrix(R);
  const jointAccuracy = summarizeMatrix([await Promise.all(exps.map((e) => accuracyOf(kind, joint, e.test)))]).finalAccuracy;
  return { ofJoint: finalAccuracy / jointAccuracy, forgetting: averageForgetting, finalAccuracy, jointAccuracy, cacheHitRates };
}

/** A category the base never saw, then 20 and 50 corrections of it: accuracy on its held-out rows (and on all held-out rows). */
async function fewShot(kind: Kind, train: Example[], held: Example[], newLabel: string, shots: number[]): Promise<Record<string, { newCategory: number; overall: number }>> {
  // corrections arrive as human feedback (the trainer weighs them 2×)
  const corrections = train.filter((r) => r.label === newLabel).map((r): Example => ({ ...r, source: 'human_correction' }));
  const { state: base } = await kind.train(train.filter((r) => r.label !== newLabel));
  const heldNew = held.filter((r) => r.label === newLabel);
  const out: Record<string, { newCategory: number; overall: number }> = {};
  for (const n of shots) {
    const { state } = await kind.update(base, corrections.slice(0, n));
    out[`after${n}`] = { newCategory: await accuracyOf(kind, state, heldNew), overall: await accuracyOf(kind, state, held) };
  }
  return out;
}

/** The new category of the few-shot test: the middle class by size among those with enough rows, not out-of-scope. */
function pickNewCategory(train: Example[], held: Example[]): string {
  const counts = new Map<string, number>();
  for (const r of train) counts.set(r.label, (counts.get(r.label) ?? 0) + 1);
  const heldCounts = new Map<string, number>();
  for (const r of held) heldCounts.set(r.label, (heldCounts.get(r.label) ?? 0) + 1);
  const ok = [...counts.entries()].filter(([l, n]) => n >= 60 && (heldCounts.get(l) ?? 0) >= 20 && l !== 'oos').sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  if (ok.length === 0) throw new Error('no class has 60 training and 20 held-out rows for the few-shot test; use a larger --subsample');
  return ok[Math.floor(ok.length / 2)]![0];
}

// ---- run ----
const needsGlove = kindNames.some((k) => k !== 'ngram');
const glove = !needsGlove ? undefined : await loadTextEncoder(args.glove, { intraOpNumThreads: 1, batchSize: 64 }).catch((cause: unknown) => {
  throw new Error(`no GloVe encoder folder at ${args.glove} (${(cause as Error).message}); build it first: pnpm --filter @flywheel/encoder-glove start`, { cause });
});
const kinds: Kind[] = kindNames.map((name) => {
  if (name === 'ngram') return ngramKind;
  if (name === 'encoder') return featureKind('encoder', glove!);
  if (name === 'hybrid') return featureKind('hybrid', hybridEncoder(glove!, { features: { buckets: Number(args['hybrid-buckets']) } }));
  throw new Error(`unknown kind ${String(name)}; use ngram, encoder, hybrid`);
});

type DatasetResult = {
  rows: number;
  classes: number;
  heldOut: { accuracy: number; macroF1: number };
  classIncremental: ScenarioResult;
  drift: ScenarioResult;
  fewShot: { category: string } & Record<string, unknown>;
  cacheHitRate: number | null;
  seconds: number;
};
const fewShotOnly: Record<string, Record<string, unknown>> = {};
const results: Record<string, Record<string, DatasetResult>> = Object.fromEntries(kinds.map((k) => [k.name, {}]));
for (const name of args.datasets.split(',')) {
  const data = await loadDataset(name);
  const classes = new Set(data.rows.map((r) => r.label)).size;
  const { train, held } = splitByGroup(data.rows, { fraction: 0.2, seed });
  const ci = classIncremental(data.rows, nExp, seed);
  const dr = drift(data.rows, nExp, seed);
  const newLabel = pickNewCategory(train, held);
  log(`\n## ${name}: ${data.rows.length} rows, ${classes} classes; held-out ${held.length}; few-shot category "${newLabel}"`);
  for (const kind of kinds) {
    const t0 = performance.now();
    if (args['few-shot-only']) {
      const shots = await fewShot(kind, train, held, newLabel, [20, 50]);
      const rounded = Object.fromEntries(Object.entries(shots).map(([k, v]) => [k, { newCategory: round(v.newCategory), overall: round(v.overall) }]));
      (fewShotOnly[kind.name] ??= {})[name] = { category: newLabel, ...rounded, seconds: round((performance.now() - t0) / 1000, 1) };
      log(`  ${kind.name}: few-shot new ${pct(shots.after20!.newCategory)}% / ${pct(shots.after50!.newCategory)}% (20/50), all held-out ${pct(shots.after20!.overall)}% / ${pct(shots.after50!.overall)}%`);
      continue;
    }
    // joint: a base on every training row of the split; the held-out model and both scenarios' upper bound
    const { state: joint } = await kind.train(train);
    const predicted = await kind.predict(joint, held);
    const ev = evaluate(held.map((r) => r.label), predicted);
    const ciResult = await scenario(kind, ci, joint);
    const driftResult = await scenario(kind, dr, joint);
    const shots = await fewShot(kind, train, held, newLabel, [20, 50]);
    const hits = [...ciResult.cacheHitRates, ...driftResult.cacheHitRates];
    const r: DatasetResult = {
      rows: data.rows.length,
      classes,
      heldOut: { accuracy: ev.accuracy, macroF1: ev.macroF1 },
      classIncremental: ciResult,
      drift: driftResult,
      fewShot: { category: newLabel, ...shots },
      cacheHitRate: hits.length === 0 ? null : hits.reduce((a, b) => a + b, 0) / hits.length,
      seconds: (performance.now() - t0) / 1000,
    };
    results[kind.name]![name] = r;
    log(
      `  ${kind.name}: held-out acc ${pct(ev.accuracy)}% macro-F1 ${pct(ev.macroF1)}%; class-incr ${pct(ciResult.ofJoint)}% of joint, forgetting ${pct(ciResult.forgetting)} pts; drift ${pct(driftResult.ofJoint)}% of joint, forgetting ${pct(driftResult.forgetting)} pts; ` +
        `few-shot new ${pct(shots.after20!.newCategory)}% / ${pct(shots.after50!.newCategory)}% (20/50); cache hits on retrain ${r.cacheHitRate === null ? '-' : pct(r.cacheHitRate)}%; ${r.seconds.toFixed(0)} s`,
    );
  }
}
await glove?.release();
if (args['few-shot-only']) {
  console.log(JSON.stringify({ backend, fewShot: fewShotOnly, options: { seed, hybridBuckets: Number(args['hybrid-buckets']) }, loadAverage: loadavg().map((x) => round(x, 2)), totalSeconds: round((performance.now() - started) / 1000, 1) }));
  process.exit(0);
}

log('\n| kind | dataset | held-out acc % | macro-F1 % | CI of joint % | CI forgetting pts | drift of joint % | drift forgetting pts | few-shot 20 % | few-shot 50 % | cache hit % |');
log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const [kind, byData] of Object.entries(results)) {
  for (const [d, r] of Object.entries(byData)) {
    const s = r.fewShot as unknown as Record<string, { newCategory: number }>;
    log(`| ${kind} | ${d} | ${pct(r.heldOut.accuracy)} | ${pct(r.heldOut.macroF1)} | ${pct(r.classIncremental.ofJoint)} | ${pct(r.classIncremental.forgetting)} | ${pct(r.drift.ofJoint)} | ${pct(r.drift.forgetting)} | ${pct(s.after20!.newCategory)} | ${pct(s.after50!.newCategory)} | ${r.cacheHitRate === null ? '-' : pct(r.cacheHitRate)} |`);
  }
}

// goals of the issue: hybrid at least as accurate as ngram on every scenario, better on few-shot
const goals: Record<string, boolean> = {};
if (results.hybrid !== undefined && results.ngram !== undefined) {
  for (const [d, h] of Object.entries(results.hybrid)) {
    const n = results.ngram[d];
    if (n === undefined) continue;
    const hs = h.fewShot as unknown as Record<string, { newCategory: number }>;
    const ns = n.fewShot as unknown as Record<string, { newCategory: number }>;
    goals[`${d}.hybridHeldOutAtLeastNgram`] = h.heldOut.accuracy >= n.heldOut.accuracy;
    goals[`${d}.hybridClassIncrementalAtLeastNgram`] = h.classIncremental.finalAccuracy >= n.classIncremental.finalAccuracy;
    goals[`${d}.hybridDriftAtLeastNgram`] = h.drift.finalAccuracy >= n.drift.finalAccuracy;
    goals[`${d}.hybridFewShotBetter`] = hs.after20!.newCategory > ns.after20!.newCategory && hs.after50!.newCategory > ns.after50!.newCategory;
  }
}
type ServingPhase = { requestsPerSecond: number; p50Ms: number; p99Ms: number; batchRows: number };
type MicroBatchJson = {
  model: string;
  connections: number;
  heldOutAccuracy?: number;
  microBatching: { on: { single: ServingPhase; concurrent: ServingPhase }; off: { single: ServingPhase; concurrent: ServingPhase } };
  speedupAtConnections: number;
};

/** The serving bench on the GloVe folder, in a child process (serving code stays out of learning); its lines are echoed. */
async function servingMicroBatch(): Promise<MicroBatchJson> {
  const script = join(repoRoot, 'services', 'serving', 'bench', 'microBatch.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env: { ...process.env, BENCH_ENCODER_DIR: args.glove }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    process.stdout.write(chunk.replace(/^(?=.)/gm, '  [microbatch] '));
  });
  const code = await new Promise<number | null>((done, fail) => child.on('error', fail).on('close', done));
  const last = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !last.startsWith('{')) throw new Error(`services/serving/bench/microBatch.ts exited ${code} without its JSON line; run it alone (BENCH_ENCODER_DIR=${args.glove} pnpm --filter @flywheel/svc-serving bench:microbatch) to see why, or pass --skip-microbatch`);
  return JSON.parse(last) as MicroBatchJson;
}

const pick = ({ requestsPerSecond, p50Ms, p99Ms, batchRows }: ServingPhase) => ({ requestsPerSecond, p50Ms, p99Ms, batchRows });
let microBatching: Record<string, unknown> | null = null;
if (!args['skip-microbatch']) {
  log('\n## serving: GloVe-encoder classifier, micro-batching on/off');
  const mb = await servingMicroBatch();
  microBatching = {
    model: mb.model,
    connections: mb.connections,
    heldOutAccuracy: mb.heldOutAccuracy ?? null,
    on: pick(mb.microBatching.on.concurrent),
    off: pick(mb.microBatching.off.concurrent),
    speedup: mb.speedupAtConnections,
    // one caller, one text per request (micro-batching off): the batch-1 figure
    batch1: pick(mb.microBatching.off.single),
  };
  goals.microBatchingAtLeast2x = mb.speedupAtConnections >= 2;
  goals.microBatchingP99Under25Ms = mb.microBatching.on.concurrent.p99Ms < 25;
}

log(`\ngoals: ${JSON.stringify(goals)}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);

const scenarioJson = (s: ScenarioResult) => ({ ofJoint: round(s.ofJoint), forgetting: round(s.forgetting), finalAccuracy: round(s.finalAccuracy), jointAccuracy: round(s.jointAccuracy) });
console.log(
  JSON.stringify({
    backend,
    encoder: glove === undefined ? null : { dir: args.glove, hash: glove.hash, dim: glove.dim },
    options: { subsample: args.subsample === undefined ? null : Number(args.subsample), quick: args.quick, experiences: nExp, seed, hybridBuckets: Number(args['hybrid-buckets']) },
    kinds: Object.fromEntries(
      Object.entries(results).map(([kind, byData]) => [
        kind,
        Object.fromEntries(
          Object.entries(byData).map(([d, r]) => {
            const s = r.fewShot as unknown as Record<string, { newCategory: number; overall: number }>;
            return [
              d,
              {
                accuracy: round(r.heldOut.accuracy),
                macroF1: round(r.heldOut.macroF1),
                classIncremental: scenarioJson(r.classIncremental),
                drift: scenarioJson(r.drift),
                fewShot: { category: r.fewShot.category, after20: round(s.after20!.newCategory), after50: round(s.after50!.newCategory), overallAfter50: round(s.after50!.overall) },
                cacheHitRate: r.cacheHitRate === null ? null : round(r.cacheHitRate),
                seconds: round(r.seconds, 1),
              },
            ];
          }),
        ),
      ]),
    ),
    microBatching,
    goals,
    loadAverage: loadavg().map((x) => round(x, 2)),
    totalSeconds: round((performance.now() - started) / 1000, 1),
  }),
);
