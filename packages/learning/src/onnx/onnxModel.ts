// ONNX ModelProto encoding and decoding through onnx-proto (the ONNX schema compiled by protobufjs),
// so no protobuf wire format is written by hand here.
import onnxProto from 'onnx-proto';
import { LearningError } from '../errors.js';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType values used here. */
export const OnnxType = { FLOAT: onnx.TensorProto.DataType.FLOAT, INT32: onnx.TensorProto.DataType.INT32, INT64: onnx.TensorProto.DataType.INT64 } as const;

export interface OnnxTensor {
  name: string;
  dims: readonly number[];
  dataType: number;
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** number = fixed size, string = symbolic dimension */
  shape: readonly (number | string)[];
}

/** One attribute: exactly one of int, ints, float. */
export interface OnnxAttribute {
  name: string;
  int?: number;
  ints?: readonly number[];
  float?: number;
}

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: readonly OnnxAttribute[];
}

export interface OnnxGraph {
  name: string;
  nodes: readonly OnnxNode[];
  initializers: readonly OnnxTensor[];
  inputs: readonly OnnxValueInfo[];
  outputs: readonly OnnxValueInfo[];
}

/** Bytes of a float32 array as little-endian raw_data. */
export const floatRaw = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));

export function int64Raw(values: readonly number[]): Uint8Array {
  const a = new BigInt64Array(values.map((v) => BigInt(v)));
  return new Uint8Array(a.buffer);
}

const { AttributeType } = onnx.AttributeProto;

function attribute(a: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  if (a.int !== undefined) return { name: a.name, type: AttributeType.INT, i: a.int };
  if (a.ints !== undefined) return { name: a.name, type: AttributeType.INTS, ints: [...a.ints] };
  if (a.float !== undefined) return { name: a.name, type: AttributeType.FLOAT, f: a.float };
  throw new LearningError('invalid_model', `ONNX attribute "${a.name}" has no value; give int, ints or float`);
}

function valueInfo(v: OnnxValueInfo): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: { tensorType: { elemType: v.elemType, shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

/** Serializes an ONNX ModelProto (IR 8, default domain at `opset`). */
export function encodeOnnxModel(graph: OnnxGraph, options: { opset: number; metadata: Record<string, string>; producer: string }): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: options.producer,
    producerVersion: '0.1.0',
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({ input: [...n.inputs], output: [...n.outputs], name: n.name, opType: n.op, attribute: (n.attributes ?? []).map(attribute) })),
      initializer: graph.initializers.map((t) => ({ name: t.name, dims: [...t.dims], dataType: t.dataType, rawData: t.raw })),
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
    opsetImport: [{ domain: '', version: options.opset }],
    metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** int64 fields decode as a number or, when the long package is present, as a Long. */
const toNumber = (v: number | { toNumber(): number }): number => (typeof v === 'number' ? v : v.toNumber());

/** A model's graph inputs and outputs with their shapes (symbolic dims as strings, unknown as undefined). */
export interface OnnxSignature {
  inputs: { name: string; elemType: number; shape: (number | string | undefined)[] }[];
  outputs: { name: string; elemType: number; shape: (number | string | undefined)[] }[];
}

/** Decodes ONNX bytes, or says the file is not an ONNX model. */
function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new LearningError('invalid_model', 'the bytes are not a valid ONNX model; re-export the model', { cause });
  }
}

/** Reads back the initializers and metadata of an ONNX model (float32 raw_data tensors only). */
export function decodeOnnxModel(bytes: Uint8Array): { metadata: Record<string, string>; initializers: Map<string, { dims: number[]; data: Float32Array }> } {
  const model = decodeModel(bytes);
  const metadata: Record<string, string> = {};
  for (const e of model.metadataProps) metadata[e.key ?? ''] = e.value ?? '';
  const initializers = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== OnnxType.FLOAT || !t.rawData || t.rawData.length === 0) continue;
    // copy: raw_data is a Node Buffer view (slice() would share memory), not 4-byte aligned in the file
    const raw = new Uint8Array(t.rawData.length);
    raw.set(t.rawData);
    initializers.set(t.name ?? '', { dims: (t.dims ?? []).map(toNumber), data: new Float32Array(raw.buffer) });
  }
  return { metadata, initializers };
}

/** The declared graph inputs (without initializers) and outputs of an ONNX model. */
export function readOnnxSignature(bytes: Uint8Array): OnnxSignature {
  const graph = decodeModel(bytes).graph;
  const initialized = new Set((graph?.initializer ?? []).map((t) => t.name));
  const describe = (v: onnxProto.onnx.IValueInfoProto): OnnxSignature['inputs'][number] => ({
    name: v.name ?? '',
    elemType: v.type?.tensorType?.elemType ?? 0,
    shape: (v.type?.tensorType?.shape?.dim ?? []).map((d) => {
      if (d.dimParam) return d.dimParam;
      const n = toNumber(d.dimValue ?? 0);
      return n > 0 ? n : undefined;
    }),
  });
  return {
    inputs: (graph?.input ?? []).filter((v) => !initialized.has(v.name ?? '')).map(describe),
    outputs: (graph?.output ?? []).map(describe),
  };
}
