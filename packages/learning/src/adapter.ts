import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LearningError } from './errors.js';
import { embeddingDeltaTensors } from './embeddingDelta.js';
import { headInputs } from './model.js';
import type { TrainingState } from './state.js';
import { encodeTensorFile, TensorEntry } from './tensorFile.js';

/** Describes an adapter file: LoRA factors + head as float32 tensors. */
export const AdapterManifest = z.object({
  format: z.literal('flywheel-adapter/v1'),
  version: z.string().min(1),
  modelName: z.string().optional(),
  baseVersion: z.string().min(1),
  labels: z.array(z.string()).min(1),
  mode: z.enum(['lora', 'full']),
  rank: z.number().int().positive(),
  alpha: z.number(),
  targets: z.array(z.string()),
  hiddenUnits: z.number().int().positive(),
  tensors: z.array(TensorEntry),
  /** sha256 (hex) of the adapter bytes */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  metrics: z.record(z.unknown()).default({}),
  /** rows of the frozen embedding table the adapter changes (0 or absent: none; needs a base with the h0_delta input) */
  embeddingDeltaRows: z.number().int().nonnegative().optional(),
  /** softmax temperature fitted on held-out rows; absent in older adapters (= 1, raw softmax) */
  temperature: z.number().positive().optional(),
  createdAt: z.string(),
});
export type AdapterManifest = z.infer<typeof AdapterManifest>;

/** Validates a manifest read from anywhere (S3, Kafka, HTTP). */
export function parseAdapterManifest(json: unknown): AdapterManifest {
  const parsed = AdapterManifest.safeParse(json);
  if (!parsed.success) throw new LearningError('invalid_manifest', `adapter manifest is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * The adapter (LoRA A/B of each target + head) as a float32 tensor file with its manifest.
 * Serving merges it into the base's dense weights at load time.
 */
export function exportAdapter(
  state: TrainingState,
  meta: { version: string; modelName?: string; metrics?: Record<string, unknown>; createdAt?: string },
): { bytes: Uint8Array; manifest: AdapterManifest } {
  const { adapter } = state;
  const tensors: { name: string; shape: number[]; data: Float32Array }[] = [];
  const r = adapter.lora.rank;
  const targets = adapter.mode === 'lora' ? Object.keys(adapter.layers).sort() : [];
  for (const target of targets) {
    const layer = state.base.dense[Number(target.replace('dense', ''))];
    const lora = adapter.layers[target];
    if (layer === undefined || lora === undefined) throw new LearningError('incomplete_state', `LoRA target ${target} has no base layer`);
    tensors.push({ name: `${target}.lora_a`, shape: [layer.inputs, r], data: lora.a }, { name: `${target}.lora_b`, shape: [r, layer.units], data: lora.b });
  }
  const H = headInputs(state.model);
  tensors.push({ name: 'head.kernel', shape: [H, state.labels.length], data: adapter.head.kernel }, { name: 'head.bias', shape: [state.labels.length], data: adapter.head.bias });
  tensors.push(...embeddingDeltaTensors(adapter.embeddingDelta, state.model.embeddingDim));
  const { bytes, entries } = encodeTensorFile(tensors);
  const manifest: AdapterManifest = {
    format: 'flywheel-adapter/v1',
    version: meta.version,
    baseVersion: state.baseVersion,
    labels: [...state.labels],
    mode: adapter.mode,
    rank: r,
    alpha: adapter.lora.alpha,
    targets,
    hiddenUnits: H,
    tensors: entries,
    sha256: sha256Hex(bytes),
    bytes: bytes.byteLength,
    metrics: meta.metrics ?? {},
    createdAt: meta.createdAt ?? new Date().toISOString(),
  };
  if (meta.modelName !== undefined) manifest.modelName = meta.modelName;
  if (state.temperature !== undefined && state.temperature !== 1) manifest.temperature = state.temperature;
  if (adapter.embeddingDelta !== undefined && adapter.embeddingDelta.rows.length > 0) manifest.embeddingDeltaRows = adapter.embeddingDelta.rows.length;
  return { bytes, manifest };
}
