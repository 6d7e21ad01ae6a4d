import { parseAdapterManifest, sha256Hex, type AdapterManifest } from '../adapter.js';
import { readEmbeddingDelta } from '../embeddingDelta.js';
import { LearningError } from '../errors.js';
import type { FeatureConfig } from '../features.js';
import { addEmbeddingDelta, mergeLora } from '../model.js';
import { BaseMetadata, DEFAULT_PREFIX } from '../onnx/exportBase.js';
import { decodeOnnxModel, encodeOnnxModel, floatRaw, int64Raw, OnnxType, type OnnxNode, type OnnxTensor } from '../onnx/onnxModel.js';
import { decodeTensorFile } from '../tensorFile.js';

/** One version as a single ONNX graph whose only inputs are the text features. */
export interface MergedVersion {
  onnx: Uint8Array;
  manifest: AdapterManifest;
  features: FeatureConfig;
  /** softmax temperature folded into the head (1 = none) */
  temperature: number;
}

/**
 * Folds an adapter into its base exactly as serving (createOnnxBase/createClassifier) applies it:
 * embedding E + Δ (float32), dense kernels W + (alpha/rank)·A·B (mergeLora, the function serving
 * uses), head kernel and bias × 1/T. Graph: Gather → Mul → ReduceSum → [MatMul → Add → Relu]* →
 * MatMul → Add (logits, already divided by T) → Softmax (probabilities). Only bag bases: an encoder
 * base needs its transformer session and tokenizer, which this export does not carry.
 */
export function mergeAdapterIntoBase(baseOnnx: Uint8Array, adapterBytes: Uint8Array, rawManifest: unknown): MergedVersion {
  const { metadata, initializers } = decodeOnnxModel(baseOnnx);
  const rawMeta = metadata.flywheel;
  if (rawMeta === undefined) throw new LearningError('invalid_model', 'the base ONNX file has no flywheel metadata; export it with exportBaseOnnx');
  const meta = BaseMetadata.safeParse(JSON.parse(rawMeta));
  if (!meta.success) throw new LearningError('invalid_model', `flywheel metadata is invalid: ${meta.error.message}`);
  const { model, baseVersion } = meta.data;
  if (model.base?.kind === 'encoder') throw new LearningError('invalid_model', `base ${baseVersion} runs on a transformer encoder; a self-contained export covers hashed n-gram bases only (copy the version's artifacts instead)`);
  const manifest = parseAdapterManifest(rawManifest);
  if (manifest.baseVersion !== baseVersion) throw new LearningError('base_mismatch', `adapter ${manifest.version} was trained on base ${manifest.baseVersion}, this base is ${baseVersion}; pass the matching base`);
  if (sha256Hex(adapterBytes) !== manifest.sha256) throw new LearningError('hash_mismatch', `adapter ${manifest.version}: bytes do not match the manifest sha256; download it again`);
  const D = model.embeddingDim;
  const H = model.hiddenUnits[model.hiddenUnits.length - 1] ?? D;
  const C = manifest.labels.length;
  if (manifest.hiddenUnits !== H) throw new LearningError('invalid_manifest', `adapter head expects ${manifest.hiddenUnits} inputs, base has ${H}`);
  const tensors = decodeTensorFile(adapterBytes, manifest.tensors);

  const embedding = initializers.get('embedding');
  if (embedding?.data.length !== model.features.buckets * D) throw new LearningError('invalid_model', `base ${baseVersion} has no ${model.features.buckets}×${D} embedding; re-export the base`);
  const delta = readEmbeddingDelta(tensors, D, model.features.buckets, `adapter ${manifest.version}`);
  const table = delta === undefined ? embedding.data : embedding.data.slice();
  if (delta !== undefined) addEmbeddingDelta(table, D, delta);

  const nodes: OnnxNode[] = [
    { op: 'Gather', name: 'bag_gather', inputs: ['embedding', 'indices'], outputs: ['gathered'], attributes: [{ name: 'axis', int: 0 }] },
    { op: 'Unsqueeze', name: 'bag_unsqueeze', inputs: ['weights', 'axis2'], outputs: ['weights3'] },
    { op: 'Mul', name: 'bag_mul', inputs: ['gathered', 'weights3'], outputs: ['weighted'] },
    { op: 'ReduceSum', name: 'bag_sum', inputs: ['weighted', 'axis1'], outputs: ['h0'], attributes: [{ name: 'keepdims', int: 0 }] },
  ];
  const weights: OnnxTensor[] = [
    { name: 'embedding', dims: [model.features.buckets, D], dataType: OnnxType.FLOAT, raw: floatRaw(table) },
    { name: 'axis1', dims: [1], dataType: OnnxType.INT64, raw: int64Raw([1]) },
    { name: 'axis2', dims: [1], dataType: OnnxType.INT64, raw: int64Raw([2]) },
  ];
  let h = 'h0';
  model.hiddenUnits.forEach((units, i) => {
    const name = `dense${i}`;
    const inputs = i === 0 ? D : (model.hiddenUnits[i - 1] as number);
    const kernel = initializers.get(`${DEFAULT_PREFIX}${name}.kernel`);
    const bias = initializers.get(`${DEFAULT_PREFIX}${name}.bias`);
    if (kernel?.data.length !== inputs * units || bias?.data.length !== units) throw new LearningError('invalid_model', `${name} weights missing from the base ONNX file; re-export the base`);
    const a = tensors.get(`${name}.lora_a`);
    const b = tensors.get(`${name}.lora_b`);
    const merged = manifest.mode === 'lora' && a !== undefined && b !== undefined ? mergeLora({ inputs, units, kernel: kernel.data, bias: bias.data }, { a, b }, manifest.rank, manifest.alpha) : kernel.data;
    weights.push(
      { name: `${name}.kernel`, dims: [inputs, units], dataType: OnnxType.FLOAT, raw: floatRaw(merged) },
      { name: `${name}.bias`, dims: [units], dataType: OnnxType.FLOAT, raw: floatRaw(bias.data) },
    );
    nodes.push(
      { op: 'MatMul', name: `${name}_matmul`, inputs: [h, `${name}.kernel`], outputs: [`${name}_mm`] },
      { op: 'Add', name: `${name}_add`, inputs: [`${name}_mm`, `${name}.bias`], outputs: [`${name}_z`] },
      { op: 'Relu', name: `${name}_relu`, inputs: [`${name}_z`], outputs: [`h${i + 1}`] },
    );
    h = `h${i + 1}`;
  });

  const headKernel = tensors.get('head.kernel');
  const headBias = tensors.get('head.bias');
  if (headKernel?.length !== H * C || headBias?.length !== C) throw new LearningError('invalid_manifest', `adapter ${manifest.version}: head tensors do not match ${C} labels`);
  // Same float32 rounding as serving: softmax(z / T) = softmax(h·(W/T) + b/T).
  const temperature = manifest.temperature ?? 1;
  const invT = 1 / temperature;
  weights.push(
    { name: 'head.kernel', dims: [H, C], dataType: OnnxType.FLOAT, raw: floatRaw(invT === 1 ? headKernel : headKernel.map((v) => v * invT)) },
    { name: 'head.bias', dims: [C], dataType: OnnxType.FLOAT, raw: floatRaw(invT === 1 ? headBias : headBias.map((v) => v * invT)) },
  );
  nodes.push(
    { op: 'MatMul', name: 'head_matmul', inputs: [h, 'head.kernel'], outputs: ['head_mm'] },
    { op: 'Add', name: 'head_add', inputs: ['head_mm', 'head.bias'], outputs: ['logits'] },
    { op: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: [{ name: 'axis', int: -1 }] },
  );
  const exportMeta = { format: 'flywheel-export/v1', version: manifest.version, baseVersion, labels: manifest.labels, temperature };
  const onnx = encodeOnnxModel(
    {
      name: 'flywheel_classifier',
      nodes,
      initializers: weights,
      inputs: [
        { name: 'indices', elemType: OnnxType.INT32, shape: ['batch', 'features'] },
        { name: 'weights', elemType: OnnxType.FLOAT, shape: ['batch', 'features'] },
      ],
      outputs: [
        { name: 'logits', elemType: OnnxType.FLOAT, shape: ['batch', C] },
        { name: 'probabilities', elemType: OnnxType.FLOAT, shape: ['batch', C] },
      ],
    },
    // its own key: createOnnxBase must not mistake this graph for a base
    { opset: 13, producer: '@flywheel/learning', metadata: { 'flywheel.export': JSON.stringify(exportMeta) } },
  );
  return { onnx, manifest, features: { ...model.features }, temperature };
}
