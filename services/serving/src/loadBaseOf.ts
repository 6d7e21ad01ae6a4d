import { ConfigError } from '@flywheel/runtime';
import type { BaseModel, InferenceEngine, VersionArtifact } from './ports.js';

/** Loads what a version runs on: its Flywheel base (over its encoder, if it has one), or a user's classifier as it is. */
export async function loadBaseOf(engine: InferenceEngine, artifact: VersionArtifact): Promise<BaseModel> {
  if (artifact.kind === 'imported-classifier') {
    if (artifact.encoder === undefined || artifact.labels === undefined) throw new ConfigError(`base ${artifact.baseVersion} is an imported classifier without its folder or labels`, { reason: 'imported_incomplete' });
    if (engine.loadImported === undefined) throw new ConfigError('this serving engine cannot serve imported classifiers; use onnxInferenceEngine', { reason: 'imported_unsupported' });
    return engine.loadImported(artifact.encoder, artifact.labels);
  }
  const bytes = await artifact.baseOnnx();
  return artifact.encoder === undefined ? engine.loadBase(bytes) : engine.loadBase(bytes, { encoder: artifact.encoder });
}
