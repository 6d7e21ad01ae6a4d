import { LearningError } from './errors.js';
import type { EmbeddingDelta } from './state.js';

/** Tensor-file entries of a sparse embedding delta (row ids stored as float32: exact below 2^24 buckets). */
export function embeddingDeltaTensors(delta: EmbeddingDelta | undefined, D: number): { name: string; shape: number[]; data: Float32Array }[] {
  if (delta === undefined || delta.rows.length === 0) return [];
  return [
    { name: 'embedding_delta.rows', shape: [delta.rows.length], data: Float32Array.from(delta.rows) },
    { name: 'embedding_delta.values', shape: [delta.rows.length, D], data: delta.values },
  ];
}

/** Reads the delta back from decoded tensors (undefined when the file has none). */
export function readEmbeddingDelta(tensors: ReadonlyMap<string, Float32Array>, D: number, buckets: number, file: string): EmbeddingDelta | undefined {
  const rows = tensors.get('embedding_delta.rows');
  const values = tensors.get('embedding_delta.values');
  if (rows === undefined && values === undefined) return undefined;
  if (rows === undefined || values === undefined || values.length !== rows.length * D || rows.some((r) => !Number.isInteger(r) || r < 0 || r >= buckets)) {
    throw new LearningError('incomplete_state', `${file}: the embedding delta is damaged (rows and values do not match the ${buckets}×${D} table); re-export the adapter`);
  }
  return { rows: Int32Array.from(rows), values };
}
