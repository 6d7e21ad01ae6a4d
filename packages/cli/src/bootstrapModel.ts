import { makeEvent, ModelName, type ModelVersion } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import { BOOTSTRAP_OPTIONS, exportAdapter, exportBaseOnnx, serializeTrainingState, type DeepPartial, type Example, type SplitConfig, type TrainOptions } from '@flywheel/learning';
import { bootstrapCandidate } from '@flywheel/learning/train';
import type { MinioArtifactStore, PgRegistry, VersionRecord } from '@flywheel/registry';

export const CLI_SOURCE = '/flywheel/cli';

/** The options of a model's first version (learning's BOOTSTRAP_OPTIONS: reservoir and Fisher from the start). */
export const BOOTSTRAP_STRATEGY: DeepPartial<TrainOptions> = BOOTSTRAP_OPTIONS;

/**
 * Trains a new base on the train part of `examples` (all rows go into the snapshot), uploads it (base, adapter, state, dataset snapshot, manifest
 * last) and registers it as the model's champion (a new base: next major version, 1.0.0 first).
 * Publishes model-updates `promoted` when a publisher is given.
 */
export async function bootstrapModel(
  deps: { registry: Pick<PgRegistry, 'nextVersion' | 'registerChampion' | 'ensureModel'>; artifacts: Pick<MinioArtifactStore, 'writeVersion'>; publisher?: Publisher },
  input: { model: string; examples: readonly Example[]; trainOptions?: DeepPartial<TrainOptions>; split?: Partial<SplitConfig>; actor: string; reason?: string; description?: string },
): Promise<{ version: VersionRecord; previous: ModelVersion | undefined; seconds: number }> {
  const model = ModelName.parse(input.model);
  const t0 = performance.now();
  const examples = input.examples.map((e) => ({ ...e, source: e.source ?? ('original' as const) }));
  // Held-out validation / gate / test rows by group hash, the same partition the trainer uses later:
  // the champion never trains on rows a retrain will judge it on.
  const result = await bootstrapCandidate(examples, { ...BOOTSTRAP_STRATEGY, ...input.trainOptions }, input.split);
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
  });
  const reason = input.reason ?? `bootstrap from ${examples.length} rows`;
  const out = await deps.registry.registerChampion({ model, version, baseVersion: state.baseVersion, labels: [...state.labels], metrics, artifact, actor: input.actor, reason });
  await deps.publisher?.publish('modelUpdates', makeEvent('modelUpdates', {
    source: CLI_SOURCE, subject: model,
    data: { action: 'promoted', version, ...(out.previous ? { previous: out.previous } : {}), reason, metrics },
  }));
  return { version: out.version, previous: out.previous, seconds: (performance.now() - t0) / 1000 };
}
