import * as tf from '@tensorflow/tfjs';
import { headInputs } from './model.js';
import type { TrainMode } from './network.js';
import type { AdapterWeights, BaseWeights, ModelConfig } from './state.js';

/**
 * The dense part of the model (dense layers with relu, then the head) trained with hand-written
 * gradients. Why not tfjs autodiff: on the wasm backend a matMul with a transposed operand (what
 * every matMul gradient uses) leaves XNNPACK for a plain loop, about 10× slower (64×128×256:
 * 1.6–2.0 ms against 0.19 ms), and tfjs's Adam costs about nine kernel calls per variable. Here
 * the parameters live in JS arrays: each step uploads them, runs the fused forward, takes the loss
 * gradient from the caller (computed in JS on the logits), runs the backward on operands
 * transposed beforehand (in JS where the data is at hand), and applies Adam in one JS loop per parameter.
 */

/** Fills `dlogits` [n, C] with dLoss/dlogits and returns the loss (both already averaged as the caller wants). */
export type LossGradient = (logits: Float32Array, n: number, dlogits: Float32Array) => number;

/** A diagonal quadratic pull (lambda/2)·Σ F·(θ−θ*)² on the parameters named in `fisher` (EWC). */
export interface QuadraticPenalty {
  fisher: Record<string, Float32Array>;
  anchors: Record<string, Float32Array>;
  lambda: number;
}

export interface StepInput {
  /** [n, embeddingDim] row-major */
  h0: Float32Array;
  n: number;
  lossGradient: LossGradient;
  /** LoRA-dropout masks per dense layer ([n, inputs], already scaled by 1/(1-p)) */
  masks?: readonly (Float32Array | undefined)[] | undefined;
  /** when given, receives dLoss/dh0 [n, embeddingDim] (the embedding table trains on it) */
  inputGradient?: Float32Array | undefined;
}

export interface DenseTrainer {
  /** names of the trainable parameters ("dense0.kernel", "dense0.lora_a", "head.kernel", …) */
  readonly names: readonly string[];
  /** one Adam step; returns the loss */
  step(input: StepInput): number;
  /** logits [n, labels] of h0 rows with the current parameters (no dropout) */
  logits(h0: Float32Array, n: number): Float32Array;
  snapshot(): Map<string, Float32Array>;
  restore(values: ReadonlyMap<string, Float32Array>): void;
  /** Current values written into fresh copies of base dense layers and adapter. */
  export(base: BaseWeights, adapter: AdapterWeights): { base: BaseWeights; adapter: AdapterWeights };
  dispose(): void;
}

export interface AdamSettings {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  /** tfjs's default on float32 backends */
  epsilon?: number;
}

interface Param {
  value: Float32Array;
  rows: number;
  cols: number;
  grad: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** [rows, cols] → [cols, rows] into `out` (row-major). */
export function transposeInto(x: Float32Array, rows: number, cols: number, out: Float32Array): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = x[o + c] as number;
  }
  return out;
}

export function createDenseTrainer(model: ModelConfig, base: BaseWeights, adapter: AdapterWeights, labels: number, mode: TrainMode, adam: AdamSettings, penalty?: QuadraticPenalty): DenseTrainer {
  const C = labels;
  const H = headInputs(model);
  const params = new Map<string, Param>();
  const param = (name: string, value: Float32Array, rows: number, cols: number): Param => {
    const p = { value: value.slice(), rows, cols, grad: new Float32Array(value.length), m: new Float32Array(value.length), v: new Float32Array(value.length) };
    params.set(name, p);
    return p;
  };
  const constants: tf.Tensor[] = [];
  const constant = <T extends tf.Tensor>(t: T): T => {
    constants.push(t);
    return t;
  };
  const { rank, alpha } = adapter.lora;
  const scale = alpha / rank;
  const layers = base.dense.map((d, i) => {
    const name = `dense${i}`;
    const lora = mode === 'lora' ? adapter.layers[name] : undefined;
    const kernel = mode === 'full' ? param(`${name}.kernel`, d.kernel, d.inputs, d.units) : undefined;
    const bias = mode === 'full' ? param(`${name}.bias`, d.bias, 1, d.units) : undefined;
    // Frozen weights stay as tensors for the whole run: XNNPACK keeps their packed form between calls.
    const frozenKernel = kernel === undefined ? constant(tf.tensor2d(d.kernel, [d.inputs, d.units])) : undefined;
    const frozenBias = bias === undefined ? constant(tf.tensor1d(d.bias)) : undefined;
    const frozenKernelT = kernel === undefined ? constant(tf.tensor2d(transposeInto(d.kernel, d.inputs, d.units, new Float32Array(d.kernel.length)), [d.units, d.inputs])) : undefined;
    const a = lora === undefined ? undefined : param(`${name}.lora_a`, lora.a, d.inputs, rank);
    const b = lora === undefined ? undefined : param(`${name}.lora_b`, lora.b, rank, d.units);
    return { inputs: d.inputs, units: d.units, kernel, bias, frozenKernel, frozenBias, frozenKernelT, a, b };
  });
  const headKernel = param('head.kernel', adapter.head.kernel, H, C);
  const headBias = param('head.bias', adapter.head.bias, 1, C);
  const names = [...params.keys()];
  const penaltyTerms = penalty === undefined ? [] : names.flatMap((name) => {
    const f = penalty.fisher[name];
    const anchor = penalty.anchors[name];
    const p = params.get(name) as Param;
    return f !== undefined && anchor !== undefined && f.length === p.value.length ? [{ p, f, anchor }] : [];
  });

  // Scratch for JS-side transposes, grown on demand.
  const scratch = new Map<string, Float32Array>();
  const buffer = (key: string, size: number): Float32Array => {
    let b = scratch.get(key);
    if (b === undefined || b.length < size) {
      b = new Float32Array(size);
      scratch.set(key, b);
    }
    return b.subarray(0, size);
  };
  const upload = (p: Param): tf.Tensor => (p.rows === 1 ? tf.tensor1d(p.value) : tf.tensor2d(p.value, [p.rows, p.cols]));
  const uploadT = (p: Param, key: string): tf.Tensor2D => tf.tensor2d(transposeInto(p.value, p.rows, p.cols, buffer(key, p.value.length)), [p.cols, p.rows]);
  /** s·B: the LoRA scale folded into B so the forward needs no extra multiply. */
  const scaled = (p: Param, key: string): Float32Array => {
    const out = buffer(key, p.value.length);
    for (let i = 0; i < out.length; i++) out[i] = (p.value[i] as number) * scale;
    return out;
  };

  interface LayerTape {
    x: tf.Tensor2D;
    /** x with the dropout mask applied (LoRA input) */
    xm: tf.Tensor2D;
    u?: tf.Tensor2D;
    h: tf.Tensor2D;
  }

  /** Forward through the dense layers and head; masks only while training. */
  const forward = (h0: tf.Tensor2D, masks: StepInput['masks'], tape?: LayerTape[]): tf.Tensor2D => {
    let x = h0;
    layers.forEach((layer, i) => {
      const W = layer.kernel !== undefined ? upload(layer.kernel) : (layer.frozenKernel as tf.Tensor);
      const bias = layer.bias !== undefined ? upload(layer.bias) : (layer.frozenBias as tf.Tensor);
      let h: tf.Tensor2D;
      let xm = x;
      let u: tf.Tensor2D | undefined;
      if (layer.a !== undefined && layer.b !== undefined) {
        const mask = masks?.[i];
        xm = mask === undefined ? x : tf.mul<tf.Tensor2D>(x, tf.tensor2d(mask, x.shape));
        const xu: tf.Tensor2D = tf.matMul(xm, upload(layer.a) as tf.Tensor2D);
        u = xu;
        const sB = tf.tensor2d(scaled(layer.b, `sB${i}`), [rank, layer.units]);
        h = tf.relu(tf.add<tf.Tensor2D>(tf.fused.matMul({ a: x, b: W as tf.Tensor2D, bias }), tf.matMul(xu, sB)));
      } else {
        h = tf.fused.matMul({ a: x, b: W as tf.Tensor2D, bias, activation: 'relu' }) as tf.Tensor2D;
      }
      tape?.push({ x, xm, ...(u !== undefined ? { u } : {}), h });
      x = h;
    });
    return tf.fused.matMul({ a: x, b: upload(headKernel) as tf.Tensor2D, bias: upload(headBias) }) as tf.Tensor2D;
  };

  let t = 0;
  const { learningRate, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7 } = adam;

  const download = (tensor: tf.Tensor, into: Float32Array, times = 1): void => {
    const data = tensor.dataSync() as Float32Array;
    if (times === 1) into.set(data);
    else for (let i = 0; i < into.length; i++) into[i] = (data[i] as number) * times;
  };

  return {
    names,
    step({ h0, n, lossGradient, masks, inputGradient }) {
      const D = model.embeddingDim;
      let loss = 0;
      tf.tidy(() => {
        const x0 = tf.tensor2d(h0.subarray(0, n * D), [n, D]);
        const tape: LayerTape[] = [];
        const logitsT = forward(x0, masks, tape);
        const logits = logitsT.dataSync() as Float32Array;
        const dl = buffer('dl', n * C);
        loss = lossGradient(logits, n, dl);
        // Head: dW = hᵀ·dl, db = Σ_rows dl, dh = dl·Wᵀ.
        const hL = tape.length > 0 ? (tape[tape.length - 1] as LayerTape).h : x0;
        const dlT = tf.tensor2d(dl, [n, C]);
        download(tf.matMul(tf.transpose(hL), dlT), headKernel.grad);
        headBias.grad.fill(0);
        for (let r = 0; r < n; r++) for (let c = 0; c < C; c++) headBias.grad[c] = (headBias.grad[c] as number) + (dl[r * C + c] as number);
        const needInput = inputGradient !== undefined;
        if (layers.length === 0) {
          if (needInput) download(tf.matMul(dlT, uploadT(headKernel, 'headT')), inputGradient.subarray(0, n * D));
          return;
        }
        let dh: tf.Tensor2D = tf.matMul(dlT, uploadT(headKernel, 'headT'));
        for (let i = layers.length - 1; i >= 0; i--) {
          const layer = layers[i] as (typeof layers)[number];
          const { x, xm, u, h } = tape[i] as LayerTape;
          // relu': h > 0 exactly where z > 0; h ≥ 0, so sign(h) is the 0/1 mask.
          const dz = tf.mul(dh, tf.sign(h));
          // h0 is at hand in JS: its transpose is a copy there, not a wasm kernel call.
          const xT = i === 0 ? tf.tensor2d(transposeInto(h0.subarray(0, n * D), n, D, buffer('h0T', n * D)), [D, n]) : tf.transpose(x);
          if (layer.kernel !== undefined && layer.bias !== undefined) {
            download(tf.matMul(xT, dz), layer.kernel.grad);
            download(tf.sum(dz, 0), layer.bias.grad);
          }
          let du: tf.Tensor2D | undefined;
          if (layer.a !== undefined && layer.b !== undefined && u !== undefined) {
            // z += u·(sB): dB = s·uᵀ·dz, du = dz·(sB)ᵀ, dA = xmᵀ·du.
            download(tf.matMul(tf.transpose(u), dz), layer.b.grad, scale);
            const sBT = tf.tensor2d(transposeInto(scaled(layer.b, `sB${i}`), rank, layer.units, buffer(`sBT${i}`, rank * layer.units)), [layer.units, rank]);
            du = tf.matMul(dz, sBT) as tf.Tensor2D;
            download(tf.matMul(xm === x ? xT : tf.transpose(xm), du as tf.Tensor2D), layer.a.grad);
          }
          if (i === 0 && !needInput) break;
          const WT = layer.kernel !== undefined ? uploadT(layer.kernel, `WT${i}`) : (layer.frozenKernelT as tf.Tensor2D);
          let dx: tf.Tensor2D = tf.matMul(dz, WT);
          if (du !== undefined && layer.a !== undefined) {
            const mask = masks?.[i];
            const viaLora = tf.matMul(du, uploadT(layer.a, `AT${i}`));
            dx = tf.add(dx, mask === undefined ? viaLora : tf.mul(viaLora, tf.tensor2d(mask, [n, layer.inputs])));
          }
          if (i === 0 && inputGradient !== undefined) download(dx, inputGradient.subarray(0, n * D));
          dh = dx;
        }
      });
      for (const { p, f, anchor } of penaltyTerms) {
        const lambda = (penalty as QuadraticPenalty).lambda;
        for (let k = 0; k < p.value.length; k++) {
          const d = (p.value[k] as number) - (anchor[k] as number);
          loss += 0.5 * lambda * (f[k] as number) * d * d;
          p.grad[k] = (p.grad[k] as number) + lambda * (f[k] as number) * d;
        }
      }
      t++;
      const c1 = 1 - beta1 ** t;
      const c2 = 1 - beta2 ** t;
      for (const p of params.values()) {
        const { value, grad, m, v } = p;
        for (let k = 0; k < value.length; k++) {
          const g = grad[k] as number;
          const mk = beta1 * (m[k] as number) + (1 - beta1) * g;
          const vk = beta2 * (v[k] as number) + (1 - beta2) * g * g;
          m[k] = mk;
          v[k] = vk;
          value[k] = (value[k] as number) - (learningRate * (mk / c1)) / (Math.sqrt(vk / c2) + epsilon);
        }
      }
      return loss;
    },
    logits(h0, n) {
      const z = tf.tidy(() => forward(tf.tensor2d(h0.subarray(0, n * model.embeddingDim), [n, model.embeddingDim]), undefined));
      const out = z.dataSync() as Float32Array;
      z.dispose();
      return out;
    },
    snapshot() {
      return new Map([...params].map(([name, p]) => [name, p.value.slice()]));
    },
    restore(values) {
      for (const [name, p] of params) {
        const v = values.get(name);
        if (v !== undefined) p.value.set(v);
      }
    },
    export(b, ad) {
      const value = (name: string): Float32Array | undefined => params.get(name)?.value.slice();
      const dense = b.dense.map((layer, i) => ({ ...layer, kernel: value(`dense${i}.kernel`) ?? layer.kernel, bias: value(`dense${i}.bias`) ?? layer.bias }));
      const adapterLayers: AdapterWeights['layers'] = {};
      for (const [name, lora] of Object.entries(ad.layers)) adapterLayers[name] = { a: value(`${name}.lora_a`) ?? lora.a, b: value(`${name}.lora_b`) ?? lora.b };
      return {
        base: { embedding: b.embedding, dense },
        adapter: { ...ad, layers: adapterLayers, head: { kernel: value('head.kernel') ?? ad.head.kernel, bias: value('head.bias') ?? ad.head.bias } },
      };
    },
    dispose() {
      tf.dispose(constants);
    },
  };
}
