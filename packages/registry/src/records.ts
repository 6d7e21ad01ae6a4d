import { z } from 'zod';
import { ArtifactRef, Metrics, ModelName, ModelVersion } from '@flywheel/contracts';

/**
 * Where a version is in its lifecycle: registered → challenger → champion → archived → deprecated.
 * A champion taken back by a rollback is `rolled_back`: never a rollback target, but an admin may promote it again.
 */
export const VersionStatus = z.enum(['registered', 'challenger', 'champion', 'archived', 'deprecated', 'rolled_back']);
export type VersionStatus = z.infer<typeof VersionStatus>;

/** One model (e.g. an urgency classifier) with its current champion and challenger. */
export interface ModelRecord {
  model: ModelName;
  description: string | undefined;
  createdAt: Date;
  champion: ModelVersion | undefined;
  challenger: ModelVersion | undefined;
  versions: number;
}

/** One version row. `baseVersion` is the learning core's base hash the adapter was trained on. */
export interface VersionRecord {
  model: ModelName;
  version: ModelVersion;
  status: VersionStatus;
  baseVersion: string;
  parentVersion: ModelVersion | undefined;
  labels: string[];
  metrics: Metrics;
  artifact: ArtifactRef;
  createdAt: Date;
  updatedAt: Date;
}

/** One status move, as appended to registry_history. `fromStatus` is null for the first row of a version. */
export interface HistoryRecord {
  id: number;
  model: ModelName;
  version: ModelVersion;
  fromStatus: VersionStatus | null;
  toStatus: VersionStatus;
  actor: string;
  reason: string;
  metrics: Metrics;
  at: Date;
}

/** What registering a new version needs; its artifacts must already be written (manifest included). */
export interface NewVersion {
  model: ModelName;
  version: ModelVersion;
  baseVersion: string;
  parentVersion?: ModelVersion;
  labels: string[];
  metrics: Metrics;
  artifact: ArtifactRef;
  actor: string;
  reason: string;
}

// Row shapes as PostgreSQL returns them; parsed, never cast.
export const VersionRow = z.object({
  model: ModelName,
  version: ModelVersion,
  status: VersionStatus,
  base_version: z.string(),
  parent_version: ModelVersion.nullable(),
  labels: z.array(z.string()),
  metrics: Metrics,
  artifact: ArtifactRef,
  created_at: z.date(),
  updated_at: z.date(),
});

export const toVersionRecord = (raw: unknown): VersionRecord => {
  const r = VersionRow.parse(raw);
  return {
    model: r.model,
    version: r.version,
    status: r.status,
    baseVersion: r.base_version,
    parentVersion: r.parent_version ?? undefined,
    labels: r.labels,
    metrics: r.metrics,
    artifact: r.artifact,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

export const HistoryRow = z.object({
  id: z.coerce.number().int(),
  model: ModelName,
  version: ModelVersion,
  from_status: VersionStatus.nullable(),
  to_status: VersionStatus,
  actor: z.string(),
  reason: z.string(),
  metrics: Metrics,
  at: z.date(),
});

export const toHistoryRecord = (raw: unknown): HistoryRecord => {
  const r = HistoryRow.parse(raw);
  return { id: r.id, model: r.model, version: r.version, fromStatus: r.from_status, toStatus: r.to_status, actor: r.actor, reason: r.reason, metrics: r.metrics, at: r.at };
};
