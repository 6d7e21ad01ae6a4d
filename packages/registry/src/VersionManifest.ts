import { z } from 'zod';
import { Metrics, ModelName, ModelVersion } from '@flywheel/contracts';

const Sha256 = z.string().regex(/^[a-f0-9]{64}$/);
/** One stored file: its key, sha256 and size. */
export const FileEntry = z.object({ key: z.string().min(1), sha256: Sha256, bytes: z.number().int().nonnegative() });
export type FileEntry = z.infer<typeof FileEntry>;

/**
 * How a version's fresh training rows were drawn (issue 13): at most `maxRows` feedback examples,
 * sampled by `seed` (feedback-ingest's training-examples API, limit and seed) from `rowsAvailable`
 * feedback groups; `rowsRead` came back. The same seed and data give the same rows.
 */
export const DatasetSample = z.object({
  maxRows: z.number().int().positive(),
  seed: z.string().min(1),
  rowsAvailable: z.number().int().nonnegative(),
  rowsRead: z.number().int().nonnegative(),
});
export type DatasetSample = z.infer<typeof DatasetSample>;

/** What a version serves: an adapter over a Flywheel base (the default), or a user's classifier as it is (issue 15). */
export const VersionKind = z.enum(['adapter', 'imported-classifier']);
export type VersionKind = z.infer<typeof VersionKind>;

/**
 * A user's encoder or classifier folder, stored once under encoders/<hash>/ and shared by every
 * version that uses it. `files` are by file name (model.onnx, tokenizer.json, …).
 */
export const EncoderRef = z.object({
  hash: Sha256,
  files: z.record(z.string(), FileEntry),
  /** tokenizer.json's model type (WordPiece, BPE, Unigram, …), for people reading the manifest */
  tokenizer: z.object({ type: z.string().optional(), maxLength: z.number().int().positive().optional() }).optional(),
});
export type EncoderRef = z.infer<typeof EncoderRef>;

/** encoder.json under encoders/<hash>/: written after the files it lists. */
export const EncoderIndex = z.object({ format: z.literal('flywheel-encoder/v1'), encoder: EncoderRef, createdAt: z.string() });
export type EncoderIndex = z.infer<typeof EncoderIndex>;

/**
 * manifest.json of a version, written after every file it lists. `files` are relative names
 * (adapter.bin, adapter.json, dataset.jsonl, state/state.json, …); `base` are the shared base files.
 */
export const VersionManifest = z.object({
  format: z.literal('flywheel-version/v1'),
  model: ModelName,
  version: ModelVersion,
  baseVersion: z.string().min(1),
  parentVersion: ModelVersion.optional(),
  labels: z.array(z.string()),
  metrics: Metrics,
  createdAt: z.string().datetime({ offset: true }),
  files: z.record(z.string(), FileEntry),
  /** The shared Flywheel base; absent for an imported classifier (it has none). */
  base: z.object({ onnx: FileEntry, weights: FileEntry }).optional(),
  /** absent: 'adapter' (every version written before issue 15) */
  kind: VersionKind.optional(),
  /** the encoder folder: the imported classifier itself, or the frozen encoder an encoder base runs on */
  encoder: EncoderRef.optional(),
  /**
   * An imported classifier's frozen feature-extraction encoder (flywheel import --encoder): the base
   * the trainer builds its first challenger on. Absent: the import cannot be retrained.
   */
  studentEncoder: EncoderRef.optional(),
  /** How dataset.jsonl's fresh rows were drawn; absent in versions trained before rows were capped. */
  dataset: DatasetSample.optional(),
});
export type VersionManifest = z.infer<typeof VersionManifest>;

/** base.json under models/<model>/base/<baseVersion>/: written after base.onnx and base.bin. */
export const BaseIndex = z.object({ format: z.literal('flywheel-base/v1'), baseVersion: z.string().min(1), onnx: FileEntry, weights: FileEntry, createdAt: z.string() });
export type BaseIndex = z.infer<typeof BaseIndex>;

/** upload.json: the first file of a version prefix, so the orphan sweep can tell its age. */
export const UploadMarker = z.object({ startedAt: z.string().datetime({ offset: true }) });
