import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { LearningError } from '../errors.js';
import { decodeOnnxModel, encodeOnnxModel, floatRaw, int64Raw, OnnxType, readOnnxSignature } from './onnxModel.js';

const weights = new Float32Array([1, 2, 3, 4, 5, 6]);
const bytes = encodeOnnxModel(
  {
    name: 'tiny',
    nodes: [
      { op: 'MatMul', name: 'mm', inputs: ['x', 'w'], outputs: ['y'] },
      { op: 'ReduceSum', name: 'sum', inputs: ['y', 'axis'], outputs: ['s'], attributes: [{ name: 'keepdims', int: 0 }] },
      { op: 'LeakyRelu', name: 'leaky', inputs: ['s'], outputs: ['out'], attributes: [{ name: 'alpha', float: 0.5 }] },
    ],
    initializers: [
      { name: 'w', dims: [2, 3], dataType: OnnxType.FLOAT, raw: floatRaw(weights) },
      { name: 'axis', dims: [1], dataType: OnnxType.INT64, raw: int64Raw([1]) },
    ],
    inputs: [{ name: 'x', elemType: OnnxType.FLOAT, shape: ['batch', 2] }],
    outputs: [{ name: 'out', elemType: OnnxType.FLOAT, shape: ['batch'] }],
  },
  { opset: 13, producer: 'test', metadata: { note: 'hello' } },
);

describe('ONNX models built with onnx-proto', () => {
  it('reads back float initializers and metadata', () => {
    const { metadata, initializers } = decodeOnnxModel(bytes);
    expect(metadata).toEqual({ note: 'hello' });
    expect(initializers.get('w')).toEqual({ dims: [2, 3], data: weights });
    expect(initializers.has('axis')).toBe(false); // int64: not a weight
  });

  it('reads the signature without initializers, keeping symbolic dims', () => {
    expect(readOnnxSignature(bytes)).toEqual({
      inputs: [{ name: 'x', elemType: OnnxType.FLOAT, shape: ['batch', 2] }],
      outputs: [{ name: 'out', elemType: OnnxType.FLOAT, shape: ['batch'] }],
    });
  });

  it('runs in onnxruntime with int and float attributes applied', async () => {
    const session = await ort.InferenceSession.create(bytes);
    const x = new ort.Tensor('float32', new Float32Array([1, 0, 0, -1]), [2, 2]);
    const { out } = await session.run({ x });
    // row 0: [1,2,3] sums to 6; row 1: -[4,5,6] sums to -15, LeakyRelu(0.5) → -7.5
    expect(Array.from(out!.data as Float32Array)).toEqual([6, -7.5]);
    await session.release();
  });

  it('rejects bytes that are not ONNX', () => {
    expect(() => decodeOnnxModel(new Uint8Array([0xff, 0xff, 0xff]))).toThrow(LearningError);
  });
});
