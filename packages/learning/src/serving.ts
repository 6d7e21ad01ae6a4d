import * as ort from 'onnxruntime-node';
import { parseAdapterManifest, sha256Hex, type AdapterManifest } from './adapter.js';
import { LearningError } from './errors.js';
import { createFeaturizer, type FeatureBatch, type FeatureConfig } from './features.js';
import { readEmbeddingDelta } from './embeddingDelta.js';
import { deltaBag, mergeLora, toPrediction, type Prediction } from './model.js';
import { BaseMetadata, DEFAULT_PREFIX } from './onnx/exportBase.js';
import { decodeOnnxModel } from './onnx/onnxModel.js';
import { decodeTensorFile } from './tensorFile.js';
import type { TextEncoder } from './encoder/encoderBase.js';

/** Output of predictRaw: no per-row objects. */
export interface RawPredictions {
  rows: number;
  labelIndex: Int32Array;
  confidence: Float32Array;
  /** [rows * labels] row-major, columns in `labels` order */
  probabilities: Float32Array;
}

/** A classifier = the shared base session + one adapter's merged weights. */
export interface OnnxClassifier {
  readonly labels: readonly string[];
  readonly version: string;
  readonly manifest: AdapterManifest;
  predict(texts: readonly string[]): Promise<Prediction[]>;
  predictRaw(texts: readonly string[]): Promise<RawPredictions>;
}

/** One loaded base ONNX model; adapters are attached to it cheaply. */
export interface OnnxBase {
  readonly baseVersion: string;
  readonly featureConfig: FeatureConfig;
  /** Labels of the base's own head (the default when no adapter is applied). */
  readonly baseLabels: readonly string[];
  /** Checks the sha256 and base version, merges W + (alpha/rank)·A·B once; shares the session. */
  createClassifier(adapterBytes: Uint8Array, manifest: unknown): OnnxClassifier;
  release(): Promise<void>;
}

export interface OnnxBaseOptions {
  /** threads inside one operator (default 1: many small requests scale better across processes) */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** required for a base exported from an encoder-base state: the encoder (shared by every version on it) that makes h0 */
  encoder?: Pick<TextEncoder, 'hash' | 'dim' | 'embed'>;
}

interface Workspace {
  batch: FeatureBatch | undefined;
  indices: Int32Array;
  weights: Float32Array;
  /** [rows, D] bag of the adapter's embedding delta (zeros without one) */
  delta: Float32Array;
}

/** Rows of equal width as one row-major array. */
function flatRows(rows: readonly Float32Array[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(row, i * width));
  return out;
}

/** Loads the base once (one InferenceSession); create classifiers per adapter with createClassifier. */
export async function createOnnxBase(onnxBytes: Uint8Array, options: OnnxBaseOptions = {}): Promise<OnnxBase> {
  const { metadata, initializers } = decodeOnnxModel(onnxBytes);
  const rawMeta = metadata.flywheel;
  if (rawMeta === undefined) throw new LearningError('invalid_model', 'the ONNX file has no flywheel metadata; export it with exportBaseOnnx');
  const meta = BaseMetadata.safeParse(JSON.parse(rawMeta));
  if (!meta.success) throw new LearningError('invalid_model', `flywheel metadata is invalid: ${meta.error.message}`);
  const { model, baseVersion } = meta.data;
  const encoder = model.base?.kind === 'encoder' ? options.encoder : undefined;
  if (model.base?.kind === 'encoder' && (encoder === undefined || encoder.hash !== model.base.hash || encoder.dim !== model.embeddingDim)) {
    throw new LearningError(
      'base_mismatch',
      `base ${baseVersion} runs on encoder ${model.base.hash.slice(0, 12)} (${model.embeddingDim} wide); ${encoder === undefined ? 'no encoder was given' : `the encoder given is ${encoder.hash.slice(0, 12)} (${encoder.dim} wide)`}: load that encoder base folder and pass it as options.encoder`,
    );
  }
  const dense = model.hiddenUnits.map((units, i) => {
    const kernel = initializers.get(`${DEFAULT_PREFIX}dense${i}.kernel`);
    const bias = initializers.get(`${DEFAULT_PREFIX}dense${i}.bias`);
    const inputs = i === 0 ? model.embeddingDim : (model.hiddenUnits[i - 1] as number);
    if (kernel === undefined || bias === undefined || kernel.data.length !== inputs * units) {
      throw new LearningError('invalid_model', `dense${i} weights missing from the base ONNX file; re-export the base`);
    }
    return { inputs, units, kernel: kernel.data, bias: bias.data };
  });
  const session = await ort.InferenceSession.create(onnxBytes, {
    intraOpNumThreads: options.intraOpThreads ?? 1,
    interOpNumThreads: options.interOpThreads ?? 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // warnings only: the unused "default/" initializers are expected
    logSeverityLevel: 3,
  });
  const featurizer = createFeaturizer(model.features);
  const L = model.features.maxFeatures;
  const H = model.hiddenUnits[model.hiddenUnits.length - 1] ?? model.embeddingDim;
  const D = model.embeddingDim;
  // Bases exported before embedding deltas have no h0_delta input: they serve delta-free adapters only.
  const takesDelta = session.inputNames.includes('h0_delta');
  // Buffers are reused per concurrent call (a small pool), never shared by two in-flight runs.
  const pool: Workspace[] = [];

  const createClassifier = (adapterBytes: Uint8Array, rawManifest: unknown): OnnxClassifier => {
    const manifest = parseAdapterManifest(rawManifest);
    if (manifest.baseVersion !== baseVersion) {
      throw new LearningError('base_mismatch', `adapter ${manifest.version} was trained on base ${manifest.baseVersion}, this base is ${baseVersion}; load the matching base`);
    }
    if (sha256Hex(adapterBytes) !== manifest.sha256) throw new LearningError('hash_mismatch', `adapter ${manifest.version}: bytes do not match the manifest sha256; download it again`);
    if (manifest.hiddenUnits !== H) throw new LearningError('invalid_manifest', `adapter head expects ${manifest.hiddenUnits} inputs, base has ${H}`);
    const tensors = decodeTensorFile(adapterBytes, manifest.tensors);
    const C = manifest.labels.length;
    const feeds: Record<string, ort.Tensor> = {};
    dense.forEach((layer, i) => {
      const name = `dense${i}`;
      const a = tensors.get(`${name}.lora_a`);
      const b = tensors.get(`${name}.lora_b`);
      const kernel = manifest.mode === 'lora' && a !== undefined && b !== undefined ? mergeLora(layer, { a, b }, manifest.rank, manifest.alpha) : layer.kernel;
      feeds[`${name}.kernel`] = new ort.Tensor('float32', kernel, [layer.inputs, layer.units]);
      feeds[`${name}.bias`] = new ort.Tensor('float32', layer.bias, [layer.units]);
    });
    const headKernel = tensors.get('head.kernel');
    const headBias = tensors.get('head.bias');
    if (headKernel?.length !== H * C || headBias?.length !== C) throw new LearningError('invalid_manifest', `adapter ${manifest.version}: head tensors do not match ${C} labels`);
    // Calibrated confidence at no run-time cost: softmax(z / T) = softmax(h·(W/T) + b/T).
    const invT = 1 / (manifest.temperature ?? 1);
    feeds['head.kernel'] = new ort.Tensor('float32', invT === 1 ? headKernel : headKernel.map((v) => v * invT), [H, C]);
    feeds['head.bias'] = new ort.Tensor('float32', invT === 1 ? headBias : headBias.map((v) => v * invT), [C]);
    const labels = Object.freeze([...manifest.labels]);
    const delta = readEmbeddingDelta(tensors, D, model.features.buckets, `adapter ${manifest.version}`);
    if (delta !== undefined && !takesDelta) throw new LearningError('base_mismatch', `adapter ${manifest.version} changes ${delta.rows.length} embedding rows, but base ${baseVersion} was exported before embedding deltas; re-export the base (exportBaseOnnx) and load it again`);
    // bucket → row of the delta, -1 where the base row is unchanged
    const slotOf = delta === undefined ? undefined : new Int32Array(model.features.buckets).fill(-1);
    delta?.rows.forEach((row, k) => ((slotOf as Int32Array)[row] = k));

    const predictRaw = async (texts: readonly string[]): Promise<RawPredictions> => {
      const n = texts.length;
      if (n === 0) return { rows: 0, labelIndex: new Int32Array(0), confidence: new Float32Array(0), probabilities: new Float32Array(0) };
      if (encoder !== undefined) return rank(await session.run({ ...feeds, h0: new ort.Tensor('float32', flatRows(await encoder.embed(texts), D), [n, D]) }), n);
      const ws = pool.pop() ?? { batch: undefined, indices: new Int32Array(0), weights: new Float32Array(0), delta: new Float32Array(0) };
      try {
        const batch = featurizer.featurize(texts, ws.batch);
        ws.batch = batch;
        // Pad only to the longest row of this batch: less Gather/Mul work than the full maxFeatures.
        let width = 1;
        for (let r = 0; r < n; r++) width = Math.max(width, batch.counts[r] as number);
        if (ws.indices.length < n * width) {
          ws.indices = new Int32Array(Math.max(n * width, ws.indices.length * 2));
          ws.weights = new Float32Array(ws.indices.length);
        }
        const indices = ws.indices.subarray(0, n * width);
        const weights = ws.weights.subarray(0, n * width);
        if (width === L) {
          indices.set(batch.indices.subarray(0, n * L));
          weights.set(batch.weights.subarray(0, n * L));
        } else {
          for (let r = 0; r < n; r++) {
            indices.set(batch.indices.subarray(r * L, r * L + width), r * width);
            weights.set(batch.weights.subarray(r * L, r * L + width), r * width);
          }
        }
        const runFeeds: Record<string, ort.Tensor> = {
          ...feeds,
          indices: new ort.Tensor('int32', indices, [n, width]),
          weights: new ort.Tensor('float32', weights, [n, width]),
        };
        if (takesDelta) {
          if (ws.delta.length < n * D) ws.delta = new Float32Array(Math.max(n * D, ws.delta.length * 2));
          const h0Delta = ws.delta.subarray(0, n * D);
          if (delta !== undefined && slotOf !== undefined) deltaBag(batch, n, width, slotOf, delta.values, D, h0Delta);
          else h0Delta.fill(0);
          runFeeds.h0_delta = new ort.Tensor('float32', h0Delta, [n, D]);
        }
        return rank(await session.run(runFeeds), n);
      } finally {
        pool.push(ws);
      }
    };
    const rank = (out: ort.InferenceSession.OnnxValueMapType, n: number): RawPredictions => {
      const probabilities = out.probabilities?.data;
      if (!(probabilities instanceof Float32Array)) throw new LearningError('invalid_model', 'base ONNX returned no float probabilities');
      const labelIndex = new Int32Array(n);
      const confidence = new Float32Array(n);
      for (let r = 0; r < n; r++) {
        let best = 0;
        let bestP = -1;
        for (let c = 0; c < C; c++) {
          const p = probabilities[r * C + c] as number;
          if (p > bestP) {
            bestP = p;
            best = c;
          }
        }
        labelIndex[r] = best;
        confidence[r] = bestP;
      }
      return { rows: n, labelIndex, confidence, probabilities };
    };

    return {
      labels,
      version: manifest.version,
      manifest,
      predictRaw,
      async predict(texts) {
        const raw = await predictRaw(texts);
        return texts.map((_, r) => toPrediction(raw.probabilities, r, labels));
      },
    };
  };

  return {
    baseVersion,
    featureConfig: featurizer.config,
    baseLabels: meta.data.labels,
    createClassifier,
    release: () => session.release(),
  };
}
