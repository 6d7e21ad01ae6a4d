import { z } from 'zod';
import { ModelName, ModelVersion, type ArtifactRef } from '@flywheel/contracts';
import type { LabelledText } from './textReference.js';

/** Where the drift-monitor learns which version is champion and what it was trained on. */
export interface TrainingSnapshots {
  /** Every model's champion version (at start). */
  champions(): Promise<{ model: string; version: string }[]>;
  /** The model's champion version now; undefined when the registry has none. */
  champion(model: string): Promise<string | undefined>;
  /** The rows the version was trained on; undefined when the version or its snapshot does not exist. */
  rows(model: string, version: string): Promise<LabelledText[] | undefined>;
}

/** The registry reads this adapter needs (PgRegistry satisfies it). */
export interface RegistryReads {
  listModels(): Promise<{ model: ModelName; champion: ModelVersion | undefined }[]>;
  champion(model: ModelName): Promise<{ version: ModelVersion } | undefined>;
  version(model: ModelName, version: ModelVersion): Promise<{ artifact: ArtifactRef } | undefined>;
}

/** The artifact read this adapter needs (MinioArtifactStore satisfies it; it verifies the sha256). */
export interface DatasetReads {
  readDataset(ref: ArtifactRef): Promise<Uint8Array>;
}

// Only what drift needs of a learning Example; other fields (group, source, confidence) are ignored.
const SnapshotRow = z.object({ text: z.string(), label: z.string().min(1) });

/** Parses a dataset.jsonl snapshot; a bad line names its number (the snapshot is then not used). */
export const parseSnapshot = (bytes: Uint8Array): LabelledText[] => {
  const rows: LabelledText[] = [];
  const lines = new TextDecoder().decode(bytes).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      throw new Error(`training snapshot line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
    const r = SnapshotRow.safeParse(json);
    if (!r.success) throw new Error(`training snapshot line ${i + 1} is not a {text, label} row: ${r.error.issues[0]?.message ?? 'invalid'}`);
    rows.push(r.data);
  }
  return rows;
};

/** Reads champions from the model registry and training snapshots (dataset.jsonl) from the artifact store. */
export class RegistryTrainingSnapshots implements TrainingSnapshots {
  constructor(private readonly registry: RegistryReads, private readonly artifacts: DatasetReads) {}

  async champions(): Promise<{ model: string; version: string }[]> {
    return (await this.registry.listModels()).flatMap((m) => (m.champion ? [{ model: m.model, version: m.champion }] : []));
  }

  async champion(model: string): Promise<string | undefined> {
    return (await this.registry.champion(ModelName.parse(model)))?.version;
  }

  async rows(model: string, version: string): Promise<LabelledText[] | undefined> {
    const record = await this.registry.version(ModelName.parse(model), ModelVersion.parse(version));
    if (!record) return undefined;
    return parseSnapshot(await this.artifacts.readDataset(record.artifact));
  }
}
