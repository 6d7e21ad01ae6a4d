/**
 * bench:microbatch — what dynamic micro-batching does for an encoder model: an imported classifier
 * (the tiny BERT of @flywheel/learning/testing: 2 layers, hidden 64, WordPiece from the shipped CLINC150
 * texts) served by the engine serving uses, one text per request, with 1 caller and with BENCH_CONNECTIONS
 * (64) concurrent callers, micro-batching on (MICRO_BATCH_MAX_WAIT_MS 2, 64 items) and off.
 * In-process (no HTTP), so the figures are the encoder path's. Last line: one JSON object.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readClassifierLabels, readEncoderFolder } from '@flywheel/learning';
import { shippedClinc, writeTinyEncoder } from '@flywheel/learning/testing';
import { ENCODER_FILES } from '@flywheel/learning';
import { onnxInferenceEngine } from '../src/onnxInferenceEngine.js';
import type { Classifier } from '../src/ports.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.min(s.length - 1, Math.floor(q * s.length))] as number);
};

const examples = (await shippedClinc()).filter((e) => e.label !== 'oos');
const labels = [...new Set(examples.map((e) => e.label))].sort();
const texts = examples.map((e) => e.text);
const work = await mkdtemp(join(tmpdir(), 'bench-microbatch-'));
const { dir } = await writeTinyEncoder(join(work, 'classifier'), { texts, classes: labels.length, seed: 3, maxLength: 64 });
await writeFile(join(dir, 'labels.txt'), labels.join('\n'));
const files = await readEncoderFolder(dir);
const byName: Record<string, Uint8Array> = { [ENCODER_FILES.model]: files.model, [ENCODER_FILES.tokenizer]: files.tokenizer, ...(files.config ? { [ENCODER_FILES.config]: files.config } : {}) };
const source = { hash: 'bench', files: async () => byName };
const folderLabels = await readClassifierLabels(dir);

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

async function measure(maxItems: number): Promise<{ single: Phase; concurrent: Phase }> {
  const runs: number[] = [];
  const engine = onnxInferenceEngine({ intraOpThreads: 1, microBatch: { maxWaitMs: Number(process.env.BENCH_MAX_WAIT_MS ?? 2), maxItems, observe: (n) => runs.push(n) } });
  const base = await engine.loadImported!(source, folderLabels);
  const classifier = base.createClassifier(new Uint8Array(0), { version: '1.0.0' });
  await classifier.predictRaw(texts.slice(0, 8)); // warm-up
  const single = await phase(classifier, 1, runs);
  const concurrent = await phase(classifier, CONNECTIONS, runs);
  await base.release();
  await engine.close?.();
  return { single, concurrent };
}

const loadBefore = loadavg()[0] ?? 0;
console.log(`tiny BERT classifier (${labels.length} labels), ${SECONDS} s per phase, ${CONNECTIONS} connections, ${cpus().length} cores`);
const on = await measure(64);
console.log('micro-batching on ', JSON.stringify(on));
const off = await measure(1);
console.log('micro-batching off', JSON.stringify(off));
await rm(work, { recursive: true, force: true });
console.log(JSON.stringify({
  bench: 'microbatch', model: 'tiny-bert-imported-classifier', seconds: SECONDS, connections: CONNECTIONS, cores: cpus().length, loadavgBefore: round(loadBefore),
  microBatching: { on, off }, speedupAtConnections: round(on.concurrent.requestsPerSecond / Math.max(1e-9, off.concurrent.requestsPerSecond)),
}));
