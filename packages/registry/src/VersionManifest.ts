import { z } from 'zod';
import { Metrics, ModelName, ModelVersion } from '@flywheel/contracts';

const Sha256 = z.string().regex(/^[a-f0-9]{64}$/);
/** One stored file: its key, sha256 and size. */
export const FileEntry = z.object({ key: z.string().min(1), sha256: Sha256, bytes: z.number().int().nonnegative() });
export type FileEntry = z.infer<typeof FileEntry>;

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
  base: z.object({ onnx: FileEntry, weights: FileEntry }),
});
export type VersionManifest = z.infer<typeof VersionManifest>;

/** base.json under models/<model>/base/<baseVersion>/: written after base.onnx and base.bin. */
export const BaseIndex = z.object({ format: z.literal('flywheel-base/v1'), baseVersion: z.string().min(1), onnx: FileEntry, weights: FileEntry, createdAt: z.string() });
export type BaseIndex = z.infer<typeof BaseIndex>;

/** upload.json: the first file of a version prefix, so the orphan sweep can tell its age. */
export const UploadMarker = z.object({ startedAt: z.string().datetime({ offset: true }) });
