import type { Metrics, ModelName, ModelVersion } from '@flywheel/contracts';
import { exportAdapter, exportBaseOnnx, serializeTrainingState, type DeepPartial, type Example, type TrainingState, type TrainOptions } from '@flywheel/learning';
import { initBackend, trainBase } from '@flywheel/learning/train';
import type { MinioArtifactStore, PgRegistry } from '@flywheel/registry';

/** Texts whose class is told by class-specific words among shared noise words (seeded, deterministic). */
export const syntheticExamples = (labels: readonly string[], perClass: number, seed = 1): Example[] => {
  let s = seed >>> 0;
  const rnd = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
  const out: Example[] = [];
  for (const label of labels) {
    for (let i = 0; i < perClass; i++) {
      const words: string[] = [];
      for (let k = 0; k < 3; k++) words.push(`${label}x${rnd(8)}`);
      for (let k = 0; k < 3; k++) words.push(`noise${rnd(40)}`);
      out.push({ text: words.join(' '), label, group: `${label}-${i}` });
    }
  }
  return out;
};

/** A tiny network: trains in a few seconds on CPU/wasm. */
export const TINY_OPTIONS: DeepPartial<TrainOptions> = {
  model: { features: { buckets: 2048, maxFeatures: 48 }, embeddingDim: 16, hiddenUnits: [32] },
  lora: { rank: 4, alpha: 8, dropout: 0 },
  epochs: 3, batchSize: 32, seed: 7,
};

/** The reference shape of the benches: embedding bag 128 → 256 → classes. */
export const REFERENCE_OPTIONS: DeepPartial<TrainOptions> = {
  model: { embeddingDim: 128, hiddenUnits: [256] },
  epochs: 2, batchSize: 128, seed: 7,
};

/** Trains a base model on `examples`. */
export const trainState = async (examples: readonly Example[], options: DeepPartial<TrainOptions>): Promise<{ state: TrainingState; seconds: number }> => {
  await initBackend();
  const r = await trainBase(examples, options);
  return { state: r.state, seconds: r.seconds };
};

export interface PublishTarget {
  registry: Pick<PgRegistry, 'ensureModel' | 'registerChampion' | 'registerChallenger' | 'register'>;
  artifacts: Pick<MinioArtifactStore, 'writeVersion'>;
}

/**
 * Uploads a version's artifacts (adapter, state, base when new) and registers it in the given role,
 * the way the trainer does. Returns the artifact ref the `challenger_registered` event carries.
 */
export const publishVersion = async (
  target: PublishTarget,
  args: { model: string; version: string; state: TrainingState; role: 'champion' | 'challenger' | 'registered'; metrics?: Metrics },
) => {
  const model = args.model as ModelName;
  const version = args.version as ModelVersion;
  const adapter = exportAdapter(args.state, { version: args.version, modelName: args.model });
  const files = serializeTrainingState(args.state);
  const metrics = args.metrics ?? { accuracy: 0.9 };
  const artifact = await target.artifacts.writeVersion({
    model, version, baseVersion: args.state.baseVersion, labels: [...args.state.labels], metrics,
    adapter: { bytes: adapter.bytes, manifest: adapter.manifest },
    state: files, dataset: new TextEncoder().encode('{}\n'),
    baseOnnx: () => exportBaseOnnx(args.state),
  });
  await target.registry.ensureModel(model);
  const row = { model, version, baseVersion: args.state.baseVersion, labels: [...args.state.labels], metrics, artifact, actor: 'test', reason: 'fixture' };
  if (args.role === 'champion') await target.registry.registerChampion(row);
  else if (args.role === 'challenger') await target.registry.registerChallenger(row);
  else await target.registry.register(row);
  return { artifact, metrics, baseVersion: args.state.baseVersion };
};
