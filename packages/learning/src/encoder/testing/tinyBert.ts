import { createRng, type Rng } from '../../random.js';
import { encodeOnnxModel, floatRaw, int64Raw, OnnxType, type OnnxAttribute, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../../onnx/onnxModel.js';

export interface TinyBertOptions {
  vocabSize: number;
  /** default 64 */
  hidden?: number;
  /** default 2; 0 = embeddings and layer norm only */
  layers?: number;
  /** default 4 (hidden must divide by it) */
  heads?: number;
  /** feed-forward width, default 4 × hidden */
  intermediate?: number;
  /** longest sequence the position table covers, default 128 */
  maxPositions?: number;
  /** declare the token_type_ids input, as BERT exports do (default true) */
  tokenTypes?: boolean;
  /** also output `pooler_output` (tanh dense on the [CLS] row), as BERT exports do (default false) */
  pooler?: boolean;
  /** a sequence classifier instead: output `logits` [batch, classes] from the pooled [CLS] row, as text-classification exports do */
  classes?: number;
  /** weights are drawn from this seed (default 1) */
  seed?: number;
}

/** Collects nodes and initializers; each helper returns the name of its output. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private n = 0;

  constructor(private readonly rng: Rng) {}

  op(op: string, inputs: string[], attributes: OnnxAttribute[] = [], output?: string): string {
    const out = output ?? `${op.toLowerCase()}_${this.n++}`;
    this.nodes.push({ op, name: `${out}_node`, inputs, outputs: [out], attributes });
    return out;
  }

  floats(name: string, dims: number[], fill: (i: number) => number): string {
    const size = dims.reduce((a, b) => a * b, 1);
    this.initializers.push({ name, dims, dataType: OnnxType.FLOAT, raw: floatRaw(Float32Array.from({ length: size }, (_, i) => fill(i))) });
    return name;
  }

  normal(name: string, dims: number[], std: number): string {
    return this.floats(name, dims, () => this.rng.normal() * std);
  }

  int64(name: string, dims: number[], values: number[]): string {
    this.initializers.push({ name, dims, dataType: OnnxType.INT64, raw: int64Raw(values) });
    return name;
  }

  dense(prefix: string, x: string, inputs: number, outputs: number): string {
    const w = this.normal(`${prefix}.weight`, [inputs, outputs], 0.02 * Math.sqrt(768 / inputs));
    const b = this.floats(`${prefix}.bias`, [outputs], () => 0);
    return this.op('Add', [this.op('MatMul', [x, w]), b]);
  }

  layerNorm(prefix: string, x: string, hidden: number, output?: string): string {
    const g = this.floats(`${prefix}.weight`, [hidden], () => 1);
    const b = this.floats(`${prefix}.bias`, [hidden], () => 0);
    return this.op('LayerNormalization', [x, g, b], [{ name: 'axis', int: -1 }, { name: 'epsilon', float: 1e-12 }], output);
  }
}

/**
 * A BERT-shaped encoder as ONNX (opset 17), with seeded random weights, for tests without downloads:
 * token + position (+ token type) embeddings, layer norm, then per layer multi-head self-attention
 * (padding masked out by an additive -1e4 on the scores), residual + layer norm, GELU (erf) feed-forward,
 * residual + layer norm. Inputs int64 [batch, sequence]; output last_hidden_state float [batch, sequence, hidden].
 */
export function buildTinyBert(options: TinyBertOptions): Uint8Array {
  const H = options.hidden ?? 64;
  const L = options.layers ?? 2;
  const heads = options.heads ?? 4;
  const I = options.intermediate ?? 4 * H;
  const P = options.maxPositions ?? 128;
  const withTypes = options.tokenTypes ?? true;
  if (H % heads !== 0) throw new RangeError(`hidden ${H} is not divisible by heads ${heads}`);
  const dh = H / heads;
  const g = new GraphBuilder(createRng(options.seed ?? 1));

  // embeddings: token rows at std 1 so a random encoder still tells words apart after pooling
  const words = g.op('Gather', [g.normal('embeddings.word_embeddings.weight', [options.vocabSize, H], 1), 'input_ids'], [{ name: 'axis', int: 0 }]);
  const one = g.int64('one', [], [1]);
  const seqLen = g.op('Gather', [g.op('Shape', ['input_ids']), one], [{ name: 'axis', int: 0 }]);
  const positionIds = g.op('Range', [g.int64('zero', [], [0]), seqLen, one]);
  const positions = g.op('Gather', [g.normal('embeddings.position_embeddings.weight', [P, H], 0.1), positionIds], [{ name: 'axis', int: 0 }]);
  let embedded = g.op('Add', [words, positions]);
  if (withTypes) {
    const types = g.op('Gather', [g.normal('embeddings.token_type_embeddings.weight', [2, H], 0.1), 'token_type_ids'], [{ name: 'axis', int: 0 }]);
    embedded = g.op('Add', [embedded, types]);
  }
  // layers 0: the embeddings alone (a word-vector encoder: mean pooling gives a bag of word vectors)
  let x = g.layerNorm('embeddings.LayerNorm', embedded, H, L === 0 ? 'last_hidden_state' : undefined);

  // Attention layers (none with layers 0: no unused initializers for onnxruntime to warn about).
  if (L > 0) {
    // additive mask [batch, 1, 1, sequence]: 0 where attended, -1e4 on padding
    const maskF = g.op('Cast', ['attention_mask'], [{ name: 'to', int: OnnxType.FLOAT }]);
    const inverted = g.op('Sub', [g.floats('one_f', [], () => 1), maskF]);
    const additive = g.op('Unsqueeze', [g.op('Mul', [inverted, g.floats('mask_value', [], () => -1e4)]), g.int64('mask_axes', [2], [1, 2])]);

    const headShape = g.int64('head_shape', [4], [0, 0, heads, dh]);
    const mergedShape = g.int64('merged_shape', [3], [0, 0, H]);
    const scale = g.floats('attention_scale', [], () => 1 / Math.sqrt(dh));
    const perm = (p: number[]): OnnxAttribute[] => [{ name: 'perm', ints: p }];
    for (let l = 0; l < L; l++) {
      const p = `encoder.layer.${l}`;
      const split = (name: string, order: number[]): string => g.op('Transpose', [g.op('Reshape', [g.dense(`${p}.attention.self.${name}`, x, H, H), headShape])], perm(order));
      const q = split('query', [0, 2, 1, 3]);
      const k = split('key', [0, 2, 3, 1]);
      const v = split('value', [0, 2, 1, 3]);
      const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), additive]);
      const context = g.op('MatMul', [g.op('Softmax', [scores], [{ name: 'axis', int: -1 }]), v]);
      const merged = g.op('Reshape', [g.op('Transpose', [context], perm([0, 2, 1, 3])), mergedShape]);
      const attended = g.layerNorm(`${p}.attention.output.LayerNorm`, g.op('Add', [g.dense(`${p}.attention.output.dense`, merged, H, H), x]), H);
      // GELU, exact form: 0.5·z·(1 + erf(z/√2))
      const z = g.dense(`${p}.intermediate.dense`, attended, H, I);
      const erf = g.op('Erf', [g.op('Div', [z, g.floats(`${p}.sqrt2`, [], () => Math.SQRT2)])]);
      const gelu = g.op('Mul', [g.op('Mul', [z, g.op('Add', [erf, g.floats(`${p}.one`, [], () => 1)])]), g.floats(`${p}.half`, [], () => 0.5)]);
      const ffn = g.dense(`${p}.output.dense`, gelu, I, H);
      x = g.layerNorm(`${p}.output.LayerNorm`, g.op('Add', [ffn, attended]), H, l === L - 1 ? 'last_hidden_state' : undefined);
    }
  }

  const outputs: OnnxValueInfo[] = options.classes === undefined ? [{ name: 'last_hidden_state', elemType: OnnxType.FLOAT, shape: ['batch', 'sequence', H] }] : [];
  if (options.pooler || options.classes !== undefined) {
    const cls = g.op('Gather', [x, g.int64('cls_index', [], [0])], [{ name: 'axis', int: 1 }]);
    const pooled = g.op('Tanh', [g.dense('pooler.dense', cls, H, H)], [], options.classes === undefined ? 'pooler_output' : undefined);
    if (options.classes === undefined) outputs.push({ name: 'pooler_output', elemType: OnnxType.FLOAT, shape: ['batch', H] });
    else {
      g.op('Identity', [g.dense('classifier', pooled, H, options.classes)], [], 'logits');
      outputs.push({ name: 'logits', elemType: OnnxType.FLOAT, shape: ['batch', options.classes] });
    }
  }
  const ids = (name: string): OnnxValueInfo => ({ name, elemType: OnnxType.INT64, shape: ['batch', 'sequence'] });
  const inputs = [ids('input_ids'), ids('attention_mask'), ...(withTypes ? [ids('token_type_ids')] : [])];
  return encodeOnnxModel(
    { name: 'tiny_bert', nodes: g.nodes, initializers: g.initializers, inputs, outputs },
    { opset: 17, producer: '@flywheel/learning tiny-bert', metadata: {} },
  );
}
