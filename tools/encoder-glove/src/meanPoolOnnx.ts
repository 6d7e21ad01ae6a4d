import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const { FLOAT, INT64 } = onnx.TensorProto.DataType;

/** Name of the graph's pooled output. */
export const POOLED_OUTPUT = 'sentence_embedding';

export interface MeanPoolTable {
  /** row-major [rows, dim] word vectors; row i is token id i */
  vectors: Float32Array;
  dim: number;
  /** per token id: 1 for a word, 0 for a token that must not count ([PAD], [UNK]) */
  counts: Float32Array;
}

const raw = (a: Float32Array | BigInt64Array): Uint8Array => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
const int64s = (name: string, values: number[]): onnxProto.onnx.ITensorProto => ({ name, dims: [values.length], dataType: INT64, rawData: raw(BigInt64Array.from(values, BigInt)) });
const node = (opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto => ({ opType, input, output: [output], name: `${output}_node`, attribute });
const ids = (name: string): onnxProto.onnx.IValueInfoProto => ({ name, type: { tensorType: { elemType: INT64, shape: { dim: [{ dimParam: 'batch' }, { dimParam: 'sequence' }] } } } });

/**
 * An encoder graph of word vectors: lookup, then the mean over the tokens that are attended and count
 * (a text of only unknown words gives the zero vector). Inputs input_ids and attention_mask
 * [batch, sequence] int64; output `sentence_embedding` [batch, dim]. Opset 13 (axes as inputs).
 */
export function meanPoolEncoderOnnx(table: MeanPoolTable, metadata: Record<string, string> = {}): Uint8Array {
  const rows = table.counts.length;
  if (table.vectors.length !== rows * table.dim) throw new RangeError(`vectors hold ${table.vectors.length} floats, expected ${rows} rows × ${table.dim}`);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'flywheel-encoder-glove',
    producerVersion: '0.1.0',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'word_vector_mean',
      input: [ids('input_ids'), ids('attention_mask')],
      output: [{ name: POOLED_OUTPUT, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: table.dim }] } } } }],
      initializer: [
        { name: 'word_vectors', dims: [rows, table.dim], dataType: FLOAT, rawData: raw(table.vectors) },
        { name: 'word_counts', dims: [rows], dataType: FLOAT, rawData: raw(table.counts) },
        { name: 'one', dims: [], dataType: FLOAT, rawData: raw(Float32Array.of(1)) },
        int64s('axis_last', [2]),
        int64s('axis_sequence', [1]),
      ],
      node: [
        node('Gather', ['word_vectors', 'input_ids'], 'vectors', [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
        node('Gather', ['word_counts', 'input_ids'], 'counts'),
        node('Cast', ['attention_mask'], 'mask', [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: FLOAT }]),
        node('Mul', ['counts', 'mask'], 'weights'),
        node('Unsqueeze', ['weights', 'axis_last'], 'weights3'),
        node('Mul', ['vectors', 'weights3'], 'weighted'),
        node('ReduceSum', ['weighted', 'axis_sequence'], 'summed', [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }]),
        node('ReduceSum', ['weights', 'axis_sequence'], 'words', [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
        // at least 1: a text with no known word divides 0 by 1
        node('Max', ['words', 'one'], 'divisor'),
        node('Div', ['summed', 'divisor'], POOLED_OUTPUT),
      ],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
