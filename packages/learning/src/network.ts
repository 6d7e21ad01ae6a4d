import * as tf from '@tensorflow/tfjs';
import { headInputs } from './model.js';
import type { AdapterWeights, BaseWeights, ModelConfig } from './state.js';

/** Which parameters train: LoRA + head (base frozen) or dense + head (+ embedding, updated sparsely in JS). */
export type TrainMode = 'lora' | 'full';

/**
 * The dense part of the model as tfjs tensors: trainable ones are tf.Variables named
 * "dense0.lora_a", "dense0.lora_b", "dense0.kernel", "dense0.bias", "head.kernel", "head.bias".
 */
export interface Network {
  readonly trainable: ReadonlyMap<string, tf.Variable>;
  /** logits [batch, labels]; masks: LoRA-dropout masks per dense layer (already scaled by 1/(1-p)) */
  forward(h0: tf.Tensor2D, masks?: readonly (tf.Tensor2D | undefined)[]): tf.Tensor2D;
  snapshot(): Map<string, Float32Array>;
  restore(values: ReadonlyMap<string, Float32Array>): void;
  /** Current values written into fresh copies of base dense layers and adapter. */
  export(base: BaseWeights, adapter: AdapterWeights): { base: BaseWeights; adapter: AdapterWeights };
  dispose(): void;
}

export function createNetwork(model: ModelConfig, base: BaseWeights, adapter: AdapterWeights, labels: number, mode: TrainMode): Network {
  const trainable = new Map<string, tf.Variable>();
  const constants: tf.Tensor[] = [];
  const constant = <T extends tf.Tensor>(t: T): T => {
    constants.push(t);
    return t;
  };
  const variable = (name: string, t: tf.Tensor): tf.Variable => {
    const v = tf.variable(t, true);
    t.dispose();
    trainable.set(name, v);
    return v;
  };
  const { rank, alpha } = adapter.lora;
  const scale = alpha / rank;
  const layers = base.dense.map((layer, i) => {
    const name = `dense${i}`;
    const lora = mode === 'lora' ? adapter.layers[name] : undefined;
    const kernel =
      mode === 'full'
        ? variable(`${name}.kernel`, tf.tensor2d(layer.kernel, [layer.inputs, layer.units]))
        : constant(tf.tensor2d(layer.kernel, [layer.inputs, layer.units]));
    const bias = mode === 'full' ? variable(`${name}.bias`, tf.tensor1d(layer.bias)) : constant(tf.tensor1d(layer.bias));
    const a = lora === undefined ? undefined : variable(`${name}.lora_a`, tf.tensor2d(lora.a, [layer.inputs, rank]));
    const b = lora === undefined ? undefined : variable(`${name}.lora_b`, tf.tensor2d(lora.b, [rank, layer.units]));
    return { kernel, bias, a, b };
  });
  const H = headInputs(model);
  const headKernel = variable('head.kernel', tf.tensor2d(adapter.head.kernel, [H, labels]));
  const headBias = variable('head.bias', tf.tensor1d(adapter.head.bias));

  return {
    trainable,
    forward(h0, masks) {
      let h: tf.Tensor2D = h0;
      layers.forEach((layer, i) => {
        let z = tf.add(tf.matMul(h, layer.kernel), layer.bias) as tf.Tensor2D;
        if (layer.a !== undefined && layer.b !== undefined) {
          const mask = masks?.[i];
          const x = mask === undefined ? h : tf.mul(h, mask);
          z = tf.add(z, tf.mul(tf.matMul(tf.matMul(x, layer.a), layer.b), scale));
        }
        h = tf.relu(z);
      });
      return tf.add(tf.matMul(h, headKernel), headBias);
    },
    snapshot() {
      const out = new Map<string, Float32Array>();
      for (const [name, v] of trainable) out.set(name, (v.dataSync() as Float32Array).slice());
      return out;
    },
    restore(values) {
      for (const [name, v] of trainable) {
        const value = values.get(name);
        if (value !== undefined) v.assign(tf.tensor(value, v.shape));
      }
    },
    export(b, ad) {
      const value = (name: string): Float32Array | undefined => {
        const v = trainable.get(name);
        return v === undefined ? undefined : (v.dataSync() as Float32Array).slice();
      };
      const dense = b.dense.map((layer, i) => ({
        ...layer,
        kernel: value(`dense${i}.kernel`) ?? layer.kernel,
        bias: value(`dense${i}.bias`) ?? layer.bias,
      }));
      const adapterLayers: AdapterWeights['layers'] = {};
      for (const [name, lora] of Object.entries(ad.layers)) {
        adapterLayers[name] = { a: value(`${name}.lora_a`) ?? lora.a, b: value(`${name}.lora_b`) ?? lora.b };
      }
      return {
        base: { embedding: b.embedding, dense },
        adapter: {
          ...ad,
          layers: adapterLayers,
          head: { kernel: value('head.kernel') ?? ad.head.kernel, bias: value('head.bias') ?? ad.head.bias },
        },
      };
    },
    dispose() {
      tf.dispose([...trainable.values(), ...constants]);
    },
  };
}
