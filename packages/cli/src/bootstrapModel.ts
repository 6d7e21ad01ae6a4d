import { makeEvent, ModelName, type ModelVersion } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import { exportAdapter, exportBaseOnnx, serializeTrainingState, trainBase, type DeepPartial, type Example, type TrainOptions } from '@flywheel/learning';
import type { MinioArtifactStore, PgRegistry, VersionRecord } from '@flywheel/registry';

export const CLI_SOURCE = '/flywheel/cli';

/** The learning core's best strategy (replay + distillation + EWC) is set up from the first version, so its state carries a reservoir and a Fisher. */
export const BOOTSTRAP_STRATEGY: DeepPartial<TrainOptions> = {
  strategy: { replay: { capacity: 2000, ratio: 0.5 }, ewc: { lambda: 100, fisherSamples: 500, decay: 0.9 } },
};

/**
 * Trains a new base on `examples`, uploads it (base, adapter, state, dataset snapshot, manifest
 * last) and registers it as the model's champion (a new base: next major version, 1.0.0 first).
 * Publishes model-updates `promoted` when a publisher is given.
 */
export async function bootstrapModel(
  deps: { registry: Pick<PgRegistry, 'nextVersion' | 'registerChampion' | 'ensureModel'>; artifacts: Pick<MinioArtifactStore, 'writeVersion'>; publisher?: Publisher },
  input: { model: string; examples: readonly Example[]; trainOptions?: DeepPartial<TrainOptions>; actor: string; reason?: string; description?: string },
): Promise<{ version: VersionRecord; previous: ModelVersion | undefined; seconds: number }> {
  const model = ModelName.parse(input.model);
  const t0 = performance.now();
  const examples = input.examples.map((e) => ({ ...e, source: e.source ?? ('original' as const) }));
  const result = await trainBase(examples, { ...BOOTSTRAP_STRATEGY, ...input.trainOptions });
  const state = result.state;
  await deps.registry.ensureModel(model, input.description);
  const version = await deps.registry.nextVersion(model, { labelsAdded: false, newBase: true });
  const metrics = { accuracy: result.validation.accuracy, macroF1: result.validation.macroF1, trainRows: examples.length, epochs: result.epochs, trainSeconds: result.seconds };
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
