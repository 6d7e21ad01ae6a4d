import { z } from 'zod';
import { headInputs } from '../model.js';
import type { ModelConfig, TrainingState } from '../state.js';
import { encodeOnnxModel, floatRaw, int64Raw, OnnxType, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './onnxModel.js';

/** Metadata stored under the "flywheel" key of the base ONNX file. */
export const BaseMetadata = z.object({
  format: z.literal('flywheel-base/v1'),
  baseVersion: z.string().min(1),
  model: z.object({
    features: z.object({
      buckets: z.number().int().positive(),
      maxFeatures: z.number().int().positive(),
      wordNgrams: z.number().int().nonnegative(),
      charNgramMin: z.number().int().nonnegative(),
      charNgramMax: z.number().int().nonnegative(),
      seed: z.number().int(),
    }),
    embeddingDim: z.number().int().positive(),
    hiddenUnits: z.array(z.number().int().positive()),
    base: z.object({ kind: z.literal('encoder'), hash: z.string().min(1) }).optional(),
  }),
  /** labels of the default head stored in the file */
  labels: z.array(z.string()),
});
export type BaseMetadata = z.infer<typeof BaseMetadata>;

/**
 * Prefix of the initializers holding the base's own dense and head weights. No node reads them
 * (onnxruntime-node only feeds inputs without an initializer), serving reads them back in JS.
 */
export const DEFAULT_PREFIX = 'default/';

/** Graph input names: what serving feeds per adapter. */
export const denseInputNames = (model: ModelConfig): string[] => model.hiddenUnits.flatMap((_, i) => [`dense${i}.kernel`, `dense${i}.bias`]);

/**
 * The base as ONNX (opset 13): Gather → Mul → ReduceSum (embedding bag) → [MatMul → Add → Relu]* →
 * MatMul → Add → Softmax. Dense and head weights are required graph inputs (serving feeds the
 * adapter-merged values); the base's own values ride along as unused "default/" initializers.
 * The embedding is a constant.
 * Inputs: indices int32 [batch, features], weights float [batch, features]. Output: probabilities [batch, labels].
 * An encoder-base state (model.base.kind 'encoder') has no bag: the graph starts at the input h0
 * [batch, embeddingDim], the pooled embedding the encoder's own session computes.
 */
export function exportBaseOnnx(state: TrainingState, options: { opset?: number } = {}): Uint8Array {
  const { model } = state;
  const D = model.embeddingDim;
  const H = headInputs(model);
  const C = state.labels.length;
  // An encoder base makes h0 in its own session (model.onnx); this graph then starts at h0.
  const encoder = model.base?.kind === 'encoder';
  const nodes: OnnxNode[] = encoder ? [] : [
    { op: 'Gather', name: 'bag_gather', inputs: ['embedding', 'indices'], outputs: ['gathered'], attributes: [{ name: 'axis', int: 0 }] },
    { op: 'Unsqueeze', name: 'bag_unsqueeze', inputs: ['weights', 'axis2'], outputs: ['weights3'] },
    { op: 'Mul', name: 'bag_mul', inputs: ['gathered', 'weights3'], outputs: ['weighted'] },
    { op: 'ReduceSum', name: 'bag_sum', inputs: ['weighted', 'axis1'], outputs: ['bag'], attributes: [{ name: 'keepdims', int: 0 }] },
    // The adapter's sparse embedding rows, bagged in JS (zeros without a delta): bag(E + Δ) = bag(E) + bag(Δ).
    { op: 'Add', name: 'bag_delta', inputs: ['bag', 'h0_delta'], outputs: ['h0'] },
  ];
  const initializers: OnnxTensor[] = encoder
    ? []
    : [
        { name: 'embedding', dims: [model.features.buckets, D], dataType: OnnxType.FLOAT, raw: floatRaw(state.base.embedding) },
        { name: 'axis1', dims: [1], dataType: OnnxType.INT64, raw: int64Raw([1]) },
        { name: 'axis2', dims: [1], dataType: OnnxType.INT64, raw: int64Raw([2]) },
      ];
  const inputs: OnnxValueInfo[] = encoder
    ? [{ name: 'h0', elemType: OnnxType.FLOAT, shape: ['batch', D] }]
    : [
        { name: 'indices', elemType: OnnxType.INT32, shape: ['batch', 'features'] },
        { name: 'weights', elemType: OnnxType.FLOAT, shape: ['batch', 'features'] },
        { name: 'h0_delta', elemType: OnnxType.FLOAT, shape: ['batch', D] },
      ];
  let h = 'h0';
  state.base.dense.forEach((layer, i) => {
    const k = `dense${i}.kernel`;
    const b = `dense${i}.bias`;
    inputs.push({ name: k, elemType: OnnxType.FLOAT, shape: [layer.inputs, layer.units] }, { name: b, elemType: OnnxType.FLOAT, shape: [layer.units] });
    initializers.push(
      { name: `${DEFAULT_PREFIX}${k}`, dims: [layer.inputs, layer.units], dataType: OnnxType.FLOAT, raw: floatRaw(layer.kernel) },
      { name: `${DEFAULT_PREFIX}${b}`, dims: [layer.units], dataType: OnnxType.FLOAT, raw: floatRaw(layer.bias) },
    );
    nodes.push(
      { op: 'MatMul', name: `dense${i}_matmul`, inputs: [h, k], outputs: [`dense${i}_mm`] },
      { op: 'Add', name: `dense${i}_add`, inputs: [`dense${i}_mm`, b], outputs: [`dense${i}_z`] },
      { op: 'Relu', name: `dense${i}_relu`, inputs: [`dense${i}_z`], outputs: [`h${i + 1}`] },
    );
    h = `h${i + 1}`;
  });
  inputs.push({ name: 'head.kernel', elemType: OnnxType.FLOAT, shape: [H, 'labels'] }, { name: 'head.bias', elemType: OnnxType.FLOAT, shape: ['labels'] });
  initializers.push(
    { name: `${DEFAULT_PREFIX}head.kernel`, dims: [H, C], dataType: OnnxType.FLOAT, raw: floatRaw(state.adapter.head.kernel) },
    { name: `${DEFAULT_PREFIX}head.bias`, dims: [C], dataType: OnnxType.FLOAT, raw: floatRaw(state.adapter.head.bias) },
  );
  nodes.push(
    { op: 'MatMul', name: 'head_matmul', inputs: [h, 'head.kernel'], outputs: ['head_mm'] },
    { op: 'Add', name: 'head_add', inputs: ['head_mm', 'head.bias'], outputs: ['logits'] },
    { op: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['probabilities'], attributes: [{ name: 'axis', int: -1 }] },
  );
  const metadata: BaseMetadata = { format: 'flywheel-base/v1', baseVersion: state.baseVersion, model, labels: [...state.labels] };
  return encodeOnnxModel(
    { name: 'flywheel_base', nodes, initializers, inputs, outputs: [{ name: 'probabilities', elemType: OnnxType.FLOAT, shape: ['batch', 'labels'] }] },
    { opset: options.opset ?? 13, producer: '@flywheel/learning', metadata: { flywheel: JSON.stringify(metadata) } },
  );
}
