import { makeEvent, ModelName, type ModelVersion } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import { BOOTSTRAP_OPTIONS, exportAdapter, exportBaseOnnx, serializeTrainingState, type DeepPartial, type EmbeddingCache, type Example, type SplitConfig, type TrainOptions } from '@flywheel/learning';
import { bootstrapEncoderCandidate } from '@flywheel/learning/train';
import type { EncoderRef, MinioArtifactStore, PgRegistry, VersionRecord } from '@flywheel/registry';
import { CLI_SOURCE } from './bootstrapModel.js';
import { storeEncoderFolder } from './storeEncoderFolder.js';

/**
 * Registers a model on the user's frozen encoder (flywheel import --encoder DIR --data FILE): the
 * folder is stored once, content-hashed; the projection and head are trained on its embeddings of
 * the train part of `examples` (held-out sets partitioned as the trainer will), uploaded with the
 * encoder's reference in the manifest, and registered as champion (the next major version).
 */
export async function importEncoderModel(
  deps: {
    registry: Pick<PgRegistry, 'nextVersion' | 'registerChampion' | 'ensureModel'>;
    artifacts: Pick<MinioArtifactStore, 'ensureEncoder' | 'writeVersion'>;
    publisher?: Publisher | undefined;
    /** where embeddings are cached (default: in memory for this run) */
    cache?: EmbeddingCache;
  },
  input: { model: string; dir: string; hybridBuckets?: number; examples: readonly Example[]; trainOptions?: DeepPartial<TrainOptions>; split?: Partial<SplitConfig>; actor: string; reason?: string; description?: string },
): Promise<{ version: VersionRecord; previous: ModelVersion | undefined; encoder: EncoderRef; uploaded: boolean; seconds: number }> {
  const model = ModelName.parse(input.model);
  const t0 = performance.now();
  const examples = input.examples.map((e) => ({ ...e, source: e.source ?? ('original' as const) }));
  const { encoder, ref, uploaded } = await storeEncoderFolder(deps.artifacts, input.dir, input.hybridBuckets === undefined ? {} : { hybridBuckets: input.hybridBuckets });
  let result: Awaited<ReturnType<typeof bootstrapEncoderCandidate>>;
  try {
    result = await bootstrapEncoderCandidate(examples, { encoder, ...(deps.cache ? { cache: deps.cache } : {}) }, { ...BOOTSTRAP_OPTIONS, ...input.trainOptions }, input.split);
  } finally {
    await encoder.release();
  }
  const state = result.state;
  await deps.registry.ensureModel(model, input.description);
  const version = await deps.registry.nextVersion(model, { labelsAdded: false, newBase: true });
  const metrics = result.metrics;
  const artifact = await deps.artifacts.writeVersion({
    model, version, baseVersion: state.baseVersion, labels: [...state.labels], metrics,
    adapter: exportAdapter(state, { version, modelName: model, metrics }),
    state: serializeTrainingState(state),
    dataset: new TextEncoder().encode(examples.map((e) => JSON.stringify(e)).join('\n') + '\n'),
    baseOnnx: () => exportBaseOnnx(state),
    encoder: ref,
  });
  const reason = input.reason ?? `trained on the ${input.hybridBuckets === undefined ? 'encoder' : `hybrid (encoder + ${input.hybridBuckets} n-gram buckets)`} in ${input.dir} from ${examples.length} rows`;
  const out = await deps.registry.registerChampion({ model, version, baseVersion: state.baseVersion, labels: [...state.labels], metrics, artifact, actor: input.actor, reason });
  await deps.publisher?.publish('modelUpdates', makeEvent('modelUpdates', {
    source: CLI_SOURCE, subject: model,
    data: { action: 'promoted', version, ...(out.previous ? { previous: out.previous } : {}), reason, metrics },
  }));
  return { version: out.version, previous: out.previous, encoder: ref, uploaded, seconds: (performance.now() - t0) / 1000 };
}
