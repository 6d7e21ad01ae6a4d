import { LearningError } from '../errors.js';
import { ProtoWriter, readFields } from './protobuf.js';

/** ONNX TensorProto.DataType values used here. */
export const OnnxType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;

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

export interface OnnxNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  name: string;
  attributes?: readonly { name: string; int?: number; ints?: readonly number[] }[];
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

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.dataType);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

/** Serializes an ONNX ModelProto (IR 8, default domain at `opset`). */
export function encodeOnnxModel(graph: OnnxGraph, options: { opset: number; metadata: Record<string, string>; producer: string }): Uint8Array {
  const m = new ProtoWriter();
  m.int(1, 8); // ir_version
  m.string(2, options.producer);
  m.string(3, '0.1.0');
  m.message(7, (g) => {
    for (const n of graph.nodes) {
      g.message(1, (node) => {
        for (const i of n.inputs) node.string(1, i);
        for (const o of n.outputs) node.string(2, o);
        node.string(3, n.name);
        node.string(4, n.op);
        for (const a of n.attributes ?? []) {
          node.message(5, (attr) => {
            attr.string(1, a.name);
            if (a.int !== undefined) attr.int(3, a.int).int(20, 2);
            if (a.ints !== undefined) {
              for (const v of a.ints) attr.int(8, v);
              attr.int(20, 7);
            }
          });
        }
      });
    }
    g.string(2, graph.name);
    for (const t of graph.initializers) g.message(5, (w) => writeTensor(w, t));
    for (const v of graph.inputs) g.message(11, (w) => writeValueInfo(w, v));
    for (const v of graph.outputs) g.message(12, (w) => writeValueInfo(w, v));
  });
  m.message(8, (op) => op.string(1, '').int(2, options.opset));
  for (const [key, value] of Object.entries(options.metadata)) m.message(14, (e) => e.string(1, key).string(2, value));
  return m.finish();
}

/** Reads back the initializers and metadata of an ONNX model (float32 raw_data tensors only). */
export function decodeOnnxModel(bytes: Uint8Array): { metadata: Record<string, string>; initializers: Map<string, { dims: number[]; data: Float32Array }> } {
  const metadata: Record<string, string> = {};
  const initializers = new Map<string, { dims: number[]; data: Float32Array }>();
  const text = new TextDecoder();
  try {
    for (const f of readFields(bytes)) {
      if (f.field === 14 && f.wire === 2) {
        let key = '';
        let value = '';
        for (const e of readFields(f.value)) {
          if (e.wire !== 2) continue;
          if (e.field === 1) key = text.decode(e.value);
          if (e.field === 2) value = text.decode(e.value);
        }
        metadata[key] = value;
      } else if (f.field === 7 && f.wire === 2) {
        for (const g of readFields(f.value)) {
          if (g.field !== 5 || g.wire !== 2) continue;
          const dims: number[] = [];
          let name = '';
          let dataType = 0;
          let raw: Uint8Array | undefined;
          for (const t of readFields(g.value)) {
            if (t.field === 1 && t.wire === 0) dims.push(Number(t.value));
            else if (t.field === 2 && t.wire === 0) dataType = Number(t.value);
            else if (t.field === 8 && t.wire === 2) name = text.decode(t.value);
            else if (t.field === 9 && t.wire === 2) raw = t.value;
          }
          if (dataType === OnnxType.FLOAT && raw !== undefined) {
            // copy: raw_data is not 4-byte aligned inside the file
            initializers.set(name, { dims, data: new Float32Array(raw.slice().buffer) });
          }
        }
      }
    }
  } catch (cause) {
    throw new LearningError('invalid_model', 'the base ONNX bytes are not a valid ONNX model; re-export the base', { cause });
  }
  return { metadata, initializers };
}
