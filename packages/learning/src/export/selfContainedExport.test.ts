import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { exportAdapter } from '../adapter.js';
import { shippedClinc } from '../encoder/testing/tinyEncoder.js';
import { LearningError } from '../errors.js';
import { exportBaseOnnx } from '../onnx/exportBase.js';
import { createOnnxBase } from '../serving.js';
import { tinyOptions } from '../testing/synthetic.js';
import { continueTraining, trainBase } from '../train.js';
import { buildSelfContainedExport, writeExportFolder } from './selfContainedExport.js';
import type { TextFeatures } from './textFeaturizer.js';

type Featurize = (texts: readonly string[], options?: { pad?: 'longest' | 'full' }) => TextFeatures;

describe('self-contained export', async () => {
  // Shipped CLINC150, label = domain: the base learns 6 domains, the adapter adds 2 more with embedding deltas.
  const all = await shippedClinc();
  const domains = [...new Set(all.map((e) => e.label))].filter((l) => l !== 'oos').sort();
  const old = domains.slice(0, 6);
  const fresh = domains.slice(6, 8);
  const pick = (labels: readonly string[], per: number, skip: number) => labels.flatMap((l) => all.filter((e) => e.label === l).slice(skip, skip + per));
  const options = { ...tinyOptions, model: { features: { buckets: 4096, maxFeatures: 64 }, embeddingDim: 16, hiddenUnits: [32] } };
  const base = await trainBase(pick(old, 80, 0), options);
  const next = await continueTraining({ base: base.state, current: base.state }, [...pick(fresh, 80, 0), ...pick(old, 20, 80)], { ...options, epochs: 8, learningRate: { continued: 2e-2 }, embeddingDelta: { maxRows: 400 } });
  // a temperature far from 1 so folding it is visible in the parity check
  const state = { ...next.state, temperature: 1.7 };
  const baseOnnx = exportBaseOnnx(base.state);
  const adapter = exportAdapter(state, { version: 'clinc@1.1.0', modelName: 'clinc' });
  const texts = all.filter((_, i) => i % 23 === 0).slice(0, 1000).map((e) => e.text);
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-export-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('trained an adapter with LoRA, embedding rows and new labels', () => {
    expect(state.adapter.mode).toBe('lora');
    expect(Object.values(state.adapter.layers).some((l) => l.b.some((x) => x !== 0))).toBe(true);
    expect(state.adapter.embeddingDelta?.rows.length).toBeGreaterThan(0);
    expect(adapter.manifest.labels).toEqual(expect.arrayContaining([...old, ...fresh]));
    expect(texts).toHaveLength(1000);
  });

  it('the folder alone (featurize.mjs + onnxruntime on model.onnx) reproduces serving to 1e-5 on 1,000 texts', async () => {
    const exported = buildSelfContainedExport({ baseOnnx, adapterBytes: adapter.bytes, adapterManifest: JSON.parse(JSON.stringify(adapter.manifest)) });
    await writeExportFolder(dir, exported);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'export.json', 'featurize.mjs', 'featurizer.json', 'labels.json', 'model.onnx', 'predict.mjs']);

    // Only the folder from here on.
    const { loadFeaturizer } = (await import(pathToFileURL(join(dir, 'featurize.mjs')).href)) as { loadFeaturizer: () => Promise<Featurize> };
    const featurize = await loadFeaturizer();
    const labels = JSON.parse(await readFile(join(dir, 'labels.json'), 'utf8')) as string[];
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    expect([...session.inputNames].sort()).toEqual(['indices', 'weights']);
    const served = await createOnnxBase(baseOnnx);
    const clf = served.createClassifier(adapter.bytes, adapter.manifest);
    expect(labels).toEqual([...clf.labels]);
    const C = labels.length;
    let maxDiff = 0;
    let maxLogitGap = 0;
    let argmaxAgree = 0;
    for (let start = 0; start < texts.length; start += 128) {
      const batch = texts.slice(start, start + 128);
      const want = await clf.predictRaw(batch);
      // both paddings: the default (longest row, as serving feeds) and the fixed maxFeatures width
      for (const pad of ['longest', 'full'] as const) {
        const f = featurize(batch, { pad });
        const out = await session.run({ indices: new ort.Tensor('int32', f.indices, [f.rows, f.width]), weights: new ort.Tensor('float32', f.weights, [f.rows, f.width]) });
        const p = out.probabilities?.data as Float32Array;
        const logits = out.logits?.data as Float32Array;
        expect(p).toHaveLength(want.probabilities.length);
        for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs((p[i] as number) - (want.probabilities[i] as number)));
        for (let r = 0; r < batch.length; r++) {
          // logits are z / T: their softmax is the probabilities
          const row = logits.subarray(r * C, (r + 1) * C);
          const m = Math.max(...row);
          const sum = row.reduce((a, z) => a + Math.exp(z - m), 0);
          for (let c = 0; c < C; c++) maxLogitGap = Math.max(maxLogitGap, Math.abs(Math.exp((row[c] as number) - m) / sum - (p[r * C + c] as number)));
          let best = 0;
          for (let c = 1; c < C; c++) if ((p[r * C + c] as number) > (p[r * C + best] as number)) best = c;
          if (best === want.labelIndex[r]) argmaxAgree++;
        }
      }
    }
    await session.release();
    await served.release();
    expect(maxDiff).toBeLessThanOrEqual(1e-5);
    expect(maxLogitGap).toBeLessThan(1e-5);
    expect(argmaxAgree).toBe(2 * texts.length);
    const manifest = JSON.parse(await readFile(join(dir, 'export.json'), 'utf8')) as { temperature: number; version: string; model: string };
    expect(manifest).toMatchObject({ temperature: 1.7, version: 'clinc@1.1.0', model: 'clinc' });
  });

  it('refuses damaged adapters, adapters of another base, and a folder that already holds files', async () => {
    const corrupted = adapter.bytes.slice();
    corrupted[0] = (corrupted[0]! + 1) % 256;
    expect(() => buildSelfContainedExport({ baseOnnx, adapterBytes: corrupted, adapterManifest: adapter.manifest })).toThrow(/sha256/);
    expect(() => buildSelfContainedExport({ baseOnnx, adapterBytes: adapter.bytes, adapterManifest: { ...adapter.manifest, baseVersion: 'other' } })).toThrow(LearningError);
    const again = buildSelfContainedExport({ baseOnnx, adapterBytes: adapter.bytes, adapterManifest: adapter.manifest });
    await expect(writeExportFolder(dir, again)).rejects.toThrow(/not empty/);
  });
});
