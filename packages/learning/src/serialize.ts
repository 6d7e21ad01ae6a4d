import { z } from 'zod';
import { Example } from './data.js';
import { embeddingDeltaTensors, readEmbeddingDelta } from './embeddingDelta.js';
import { LearningError } from './errors.js';
import { BaseMetadata } from './onnx/exportBase.js';
import { headInputs } from './model.js';
import type { AdapterWeights, TrainingState } from './state.js';
import { decodeTensorFile, encodeTensorFile, requireTensor, TensorEntry } from './tensorFile.js';

/** File name → bytes: state.json, base.bin, adapter.bin, fisher.bin (optional), replay.jsonl (optional). */
export type TrainingStateFiles = Record<string, Uint8Array>;

const StateManifest = z.object({
  format: z.literal('flywheel-training-state/v1'),
  baseVersion: z.string().min(1),
  model: BaseMetadata.shape.model,
  labels: z.array(z.string()),
  adapter: z.object({
    mode: z.enum(['lora', 'full']),
    lora: z.object({ rank: z.number().int().positive(), alpha: z.number(), dropout: z.number(), targets: z.array(z.string()) }),
  }),
  tensors: z.object({ base: z.array(TensorEntry), adapter: z.array(TensorEntry), fisher: z.array(TensorEntry).optional() }),
  fisherLabels: z.array(z.string()).optional(),
  replaySeen: z.record(z.number()).optional(),
  temperature: z.number().positive().optional(),
});

/** Everything needed to continue training later, as files (upload them under one prefix). */
export function serializeTrainingState(state: TrainingState): TrainingStateFiles {
  const base = encodeTensorFile([
    { name: 'embedding', shape: [state.model.base?.kind === 'encoder' ? 0 : state.model.features.buckets, state.model.embeddingDim], data: state.base.embedding },
    ...state.base.dense.flatMap((d, i) => [
      { name: `dense${i}.kernel`, shape: [d.inputs, d.units], data: d.kernel },
      { name: `dense${i}.bias`, shape: [d.units], data: d.bias },
    ]),
  ]);
  const H = headInputs(state.model);
  const r = state.adapter.lora.rank;
  const adapter = encodeTensorFile([
    ...Object.entries(state.adapter.layers).flatMap(([name, l]) => {
      const layer = state.base.dense[Number(name.replace('dense', ''))];
      return [
        { name: `${name}.lora_a`, shape: [layer?.inputs ?? 0, r], data: l.a },
        { name: `${name}.lora_b`, shape: [r, layer?.units ?? 0], data: l.b },
      ];
    }),
    { name: 'head.kernel', shape: [H, state.labels.length], data: state.adapter.head.kernel },
    { name: 'head.bias', shape: [state.labels.length], data: state.adapter.head.bias },
    ...embeddingDeltaTensors(state.adapter.embeddingDelta, state.model.embeddingDim),
  ]);
  const fisher =
    state.fisher === undefined
      ? undefined
      : encodeTensorFile([
          ...Object.entries(state.fisher.values).map(([name, v]) => ({ name: `fisher.${name}`, shape: [v.length], data: v })),
          ...Object.entries(state.fisher.anchors).map(([name, v]) => ({ name: `anchor.${name}`, shape: [v.length], data: v })),
        ]);
  const manifest: z.infer<typeof StateManifest> = {
    format: 'flywheel-training-state/v1',
    baseVersion: state.baseVersion,
    model: state.model,
    labels: state.labels,
    adapter: { mode: state.adapter.mode, lora: state.adapter.lora },
    tensors: { base: base.entries, adapter: adapter.entries, ...(fisher ? { fisher: fisher.entries } : {}) },
    ...(state.fisher ? { fisherLabels: state.fisher.labels } : {}),
    ...(state.replaySeen ? { replaySeen: state.replaySeen } : {}),
    ...(state.temperature !== undefined ? { temperature: state.temperature } : {}),
  };
  const files: TrainingStateFiles = {
    'state.json': new TextEncoder().encode(JSON.stringify(manifest)),
    'base.bin': base.bytes,
    'adapter.bin': adapter.bytes,
  };
  if (fisher !== undefined) files['fisher.bin'] = fisher.bytes;
  if (state.replay !== undefined) files['replay.jsonl'] = new TextEncoder().encode(state.replay.map((e) => JSON.stringify(e)).join('\n'));
  return files;
}

/** Inverse of serializeTrainingState; throws LearningError('incomplete_state') when a required part is missing. */
export function deserializeTrainingState(files: Readonly<Partial<TrainingStateFiles>>): TrainingState {
  const json = files['state.json'];
  const baseBytes = files['base.bin'];
  const adapterBytes = files['adapter.bin'];
  if (json === undefined || baseBytes === undefined || adapterBytes === undefined) {
    throw new LearningError('incomplete_state', 'training state needs state.json, base.bin and adapter.bin; continue from the base instead');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(json));
  } catch (cause) {
    throw new LearningError('incomplete_state', 'state.json is not valid JSON', { cause });
  }
  const parsed = StateManifest.safeParse(raw);
  if (!parsed.success) throw new LearningError('incomplete_state', `state.json is invalid: ${parsed.error.message}`);
  const m = parsed.data;
  const model = m.model;
  const baseT = decodeTensorFile(baseBytes, m.tensors.base);
  const D = model.embeddingDim;
  let inputs = D;
  const dense = model.hiddenUnits.map((units, i) => {
    const d = {
      inputs,
      units,
      kernel: requireTensor(baseT, `dense${i}.kernel`, inputs * units, 'base.bin'),
      bias: requireTensor(baseT, `dense${i}.bias`, units, 'base.bin'),
    };
    inputs = units;
    return d;
  });
  // an encoder base keeps no embedding table (h0 comes from the encoder)
  const embedding = requireTensor(baseT, 'embedding', model.base?.kind === 'encoder' ? 0 : model.features.buckets * D, 'base.bin');
  const adT = decodeTensorFile(adapterBytes, m.tensors.adapter);
  const H = headInputs(model);
  const C = m.labels.length;
  const layers: AdapterWeights['layers'] = {};
  const r = m.adapter.lora.rank;
  if (m.adapter.mode === 'lora') {
    for (const target of m.adapter.lora.targets) {
      const layer = dense[Number(target.replace('dense', ''))];
      if (layer === undefined) throw new LearningError('incomplete_state', `LoRA target ${target} has no base layer`);
      layers[target] = {
        a: requireTensor(adT, `${target}.lora_a`, layer.inputs * r, 'adapter.bin'),
        b: requireTensor(adT, `${target}.lora_b`, r * layer.units, 'adapter.bin'),
      };
    }
  }
  const state: TrainingState = {
    model,
    baseVersion: m.baseVersion,
    base: { embedding, dense },
    adapter: {
      mode: m.adapter.mode,
      lora: m.adapter.lora,
      layers,
      head: { kernel: requireTensor(adT, 'head.kernel', H * C, 'adapter.bin'), bias: requireTensor(adT, 'head.bias', C, 'adapter.bin') },
    },
    labels: m.labels,
  };
  const delta = readEmbeddingDelta(adT, D, model.features.buckets, 'adapter.bin');
  if (delta !== undefined) state.adapter.embeddingDelta = delta;
  const fisherBytes = files['fisher.bin'];
  if (fisherBytes !== undefined && m.tensors.fisher !== undefined && m.fisherLabels !== undefined) {
    const f = decodeTensorFile(fisherBytes, m.tensors.fisher);
    const values: Record<string, Float32Array> = {};
    const anchors: Record<string, Float32Array> = {};
    for (const [name, v] of f) {
      if (name.startsWith('fisher.')) values[name.slice(7)] = v;
      else if (name.startsWith('anchor.')) anchors[name.slice(7)] = v;
    }
    state.fisher = { labels: m.fisherLabels, values, anchors };
  }
  const replay = files['replay.jsonl'];
  if (replay !== undefined) {
    const text = new TextDecoder().decode(replay);
    state.replay = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const e = Example.safeParse(JSON.parse(l));
        if (!e.success) throw new LearningError('incomplete_state', `replay.jsonl has an invalid row: ${e.error.message}`);
        return e.data;
      });
  }
  if (m.replaySeen !== undefined) state.replaySeen = m.replaySeen;
  if (m.temperature !== undefined) state.temperature = m.temperature;
  return state;
}
