import type { ModelName, ModelVersion } from '@flywheel/contracts';
import type { ModelSource, VersionArtifact } from './ports.js';
import { CorruptArtifact, type MinioArtifactStore, type PgRegistry } from '@flywheel/registry';
import { PoisonMessage } from '@flywheel/runtime';

/** The registry reads serving needs (a narrow slice of PgRegistry). */
export type RegistryReads = Pick<PgRegistry, 'champion' | 'version'> & Partial<Pick<PgRegistry, 'listModels'>>;
/** The artifact reads serving needs (a narrow slice of MinioArtifactStore). */
export type ArtifactReads = Pick<MinioArtifactStore, 'readServing' | 'readBaseOnnx'> & Partial<Pick<MinioArtifactStore, 'readEncoderFiles'>>;

/** ModelSource over the PostgreSQL registry and the S3 artifact store; every byte is sha256-verified by the store. */
export class RegistryModelSource implements ModelSource {
  constructor(private readonly registry: RegistryReads, private readonly artifacts: ArtifactReads) {}

  async champion(model: string): Promise<string | undefined> {
    return (await this.registry.champion(model as ModelName))?.version;
  }

  async modelsWithChampion(): Promise<string[]> {
    return ((await this.registry.listModels?.()) ?? []).filter((m) => m.champion !== undefined).map((m) => m.model);
  }

  async version(model: string, version: string): Promise<VersionArtifact> {
    const record = await this.registry.version(model as ModelName, version as ModelVersion);
    // Registration commits before its announcement, so an unknown version is a bad event: dead-letter it.
    if (record === undefined) throw new PoisonMessage(`version ${model}@${version} is not in the registry; register it before announcing it on model-updates`);
    const served = await this.artifacts.readServing(record.artifact, { skipBase: true });
    const encoderRef = served.manifest.encoder;
    const readEncoder = this.artifacts.readEncoderFiles?.bind(this.artifacts);
    const encoder = encoderRef !== undefined && readEncoder !== undefined ? { hash: encoderRef.hash, files: () => readEncoder(encoderRef) } : undefined;
    if (served.manifest.kind === 'imported-classifier') {
      if (encoder === undefined) throw new CorruptArtifact(`${model}@${version} is an imported classifier without an encoder folder in its manifest; import it again (flywheel import)`);
      return {
        kind: 'imported-classifier', encoder, labels: served.manifest.labels,
        adapterBytes: served.adapterBytes, adapterManifest: { version }, baseVersion: served.manifest.baseVersion,
        baseOnnx: () => Promise.reject(new CorruptArtifact(`${model}@${version} is an imported classifier; it has no base ONNX`)),
      };
    }
    return {
      ...(encoder !== undefined ? { encoder } : {}),
      adapterBytes: served.adapterBytes,
      adapterManifest: served.adapterManifest,
      baseVersion: served.manifest.baseVersion,
      baseOnnx: () => this.artifacts.readBaseOnnx(served.manifest),
    };
  }
}
