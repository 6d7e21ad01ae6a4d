/**
 * bench:microbatch — what dynamic micro-batching does for an encoder model, served by the engine
 * serving uses, one text per request, with 1 caller and with BENCH_CONNECTIONS (64) concurrent callers,
 * micro-batching on (MICRO_BATCH_MAX_WAIT_MS 2, 64 items) and off. The model is either
 *  - an imported classifier: the tiny BERT of @flywheel/learning/testing (2 layers, hidden 64,
 *    WordPiece from the shipped CLINC150 texts), the default; or
 *  - with BENCH_ENCODER_DIR=<encoder folder> (e.g. the GloVe folder of tools/encoder-glove): a Flywheel
 *    head trained on BENCH_TRAIN_ROWS (3000) shipped CLINC150 rows over that frozen encoder, loaded as
 *    an `encoder`-base version (base ONNX + adapter, the encoder session shared and micro-batched).
 * In-process (no HTTP), so the figures are the encoder path's. Last line: one JSON object.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENCODER_FILES, readClassifierLabels, readEncoderFolder, type Example } from '@flywheel/learning';
import { shippedClinc, writeTinyEncoder } from '@flywheel/learning/testing';
import { onnxInferenceEngine } from '../src/onnxInferenceEngine.js';
import type { BaseModel, Classifier, InferenceEngine } from '../src/ports.js';
import { trainEncoderHead } from './gloveClassifier.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const ENCODER_DIR = process.env.BENCH_ENCODER_DIR;
const TRAIN_ROWS = Number(process.env.BENCH_TRAIN_ROWS ?? 3000);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

const examples = (await shippedClinc()).filter((e) => e.label !== 'oos');
const texts = examples.map((e) => e.text);

/** What is served: how the engine loads it, and what describes it in the JSON. */
interface Subject {
  model: string;
  describe: Record<string, unknown>;
  load(engine: InferenceEngine): Promise<{ base: BaseModel; classifier: Classifier }>;
  cleanup(): Promise<void>;
}

async function tinyBertSubject(): Promise<Subject> {
  const labels = [...new Set(examples.map((e) => e.label))].sort();
  const work = await mkdtemp(join(tmpdir(), 'bench-microbatch-'));
  const { dir } = await writeTinyEncoder(join(work, 'classifier'), { texts, classes: labels.length, seed: 3, maxLength: 64 });
  await writeFile(join(dir, 'labels.txt'), labels.join('\n'));
  const files = await readEncoderFolder(dir);
  const byName: Record<string, Uint8Array> = { [ENCODER_FILES.model]: files.model, [ENCODER_FILES.tokenizer]: files.tokenizer, ...(files.config ? { [ENCODER_FILES.config]: files.config } : {}) };
  const source = { hash: 'bench', files: async () => byName };
  const folderLabels = await readClassifierLabels(dir);
  return {
    model: 'tiny-bert-imported-classifier',
    describe: { labels: labels.length },
    async load(engine) {
      const base = await engine.loadImported!(source, folderLabels);
      return { base, classifier: base.createClassifier(new Uint8Array(0), { version: '1.0.0' }) };
    },
    cleanup: () => rm(work, { recursive: true, force: true }),
  };
}

/** Share of `rows` the served classifier labels right: shows the trained head is a real classifier. */
async function servedAccuracy(classifier: Classifier, rows: readonly Example[]): Promise<number> {
  const scores = await classifier.predictRaw(rows.map((r) => r.text));
  let ok = 0;
  rows.forEach((r, i) => {
    if (classifier.labels[scores.labelIndex[i]!] === r.label) ok++;
  });
  return ok / rows.length;
}

async function encoderSubject(dir: string): Promise<Subject> {
  // the file is grouped by intent: train on a spread of the even rows, check on a spread of the odd ones (other texts, same labels)
  const model = await trainEncoderHead(dir, examples.filter((_, i) => i % 2 === 0), { rows: TRAIN_ROWS, seed: 3 });
  const check = examples.filter((_, i) => i % 20 === 1);
  const describe: Record<string, unknown> = { encoderDir: dir, encoderHash: model.source.hash.slice(0, 16), labels: model.labels.length, trainRows: model.trainRows, trainSeconds: round(model.trainSeconds, 1) };
  return {
    model: 'encoder-base-classifier',
    describe,
    async load(engine) {
      const base = await engine.loadBase(model.baseOnnx, { encoder: model.source });
      const classifier = base.createClassifier(model.adapter.bytes, model.adapter.manifest);
      describe.heldOutAccuracy ??= round(await servedAccuracy(classifier, check), 4);
      describe.heldOutRows = check.length;
      return { base, classifier };
    },
    cleanup: async () => {},
  };
}

interface Phase { requestsPerSecond: number; p50Ms: number; p99Ms: number; batchRows: number }

/** `connections` callers, each sending one text at a time for SECONDS. */
async function phase(classifier: Classifier, connections: number, runs: number[]): Promise<Phase> {
  runs.length = 0;
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  let i = 0;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const text = texts[i++ % texts.length]!;
      const t0 = performance.now();
      await classifier.predictRaw([text]);
      latencies.push(performance.now() - t0);
    }
  }));
  const meanRows = runs.length === 0 ? 0 : runs.reduce((a, b) => a + b, 0) / runs.length;
  return { requestsPerSecond: round(latencies.length / SECONDS, 1), p50Ms: round(quantile(latencies, 0.5)), p99Ms: round(quantile(latencies, 0.99)), batchRows: round(meanRows, 1) };
}

async function measure(subject: Subject, maxItems: number): Promise<{ single: Phase; concurrent: Phase }> {
  const runs: number[] = [];
  const engine = onnxInferenceEngine({ intraOpThreads: 1, microBatch: { maxWaitMs: Number(process.env.BENCH_MAX_WAIT_MS ?? 2), maxItems, observe: (n) => runs.push(n) } });
  const { base, classifier } = await subject.load(engine);
  await classifier.predictRaw(texts.slice(0, 8)); // warm-up
  const single = await phase(classifier, 1, runs);
  const concurrent = await phase(classifier, CONNECTIONS, runs);
  await base.release();
  await engine.close?.();
  return { single, concurrent };
}

const subject = ENCODER_DIR === undefined ? await tinyBertSubject() : await encoderSubject(resolve(ENCODER_DIR));
const loadBefore = loadavg()[0] ?? 0;
console.log(`${subject.model} ${JSON.stringify(subject.describe)}, ${SECONDS} s per phase, ${CONNECTIONS} connections, ${cpus().length} cores`);
const on = await measure(subject, 64);
console.log('micro-batching on ', JSON.stringify(on));
const off = await measure(subject, 1);
console.log('micro-batching off', JSON.stringify(off));
await subject.cleanup();
console.log(JSON.stringify({
  bench: 'microbatch', model: subject.model, ...subject.describe, seconds: SECONDS, connections: CONNECTIONS, cores: cpus().length, loadavgBefore: round(loadBefore),
  microBatching: { on, off }, speedupAtConnections: round(on.concurrent.requestsPerSecond / Math.max(1e-9, off.concurrent.requestsPerSecond)),
}));
