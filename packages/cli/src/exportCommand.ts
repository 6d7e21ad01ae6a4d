import { readdir } from 'node:fs/promises';
import { ModelVersion, type ModelName } from '@flywheel/contracts';
import { buildSelfContainedExport, writeExportFolder } from '@flywheel/learning';
import type { MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { NotFound } from '@flywheel/runtime';
import { modelArg, need, versionArg } from './cliArgs.js';
import { UsageError } from './cliErrors.js';
import { requireModel } from './commands.js';

export interface ExportDeps {
  registry: Pick<PgRegistry, 'listModels' | 'version' | 'champion'>;
  artifacts: () => Promise<Pick<MinioArtifactStore, 'readServing'>>;
  print: (line: string) => void;
}

/** MODEL or MODEL@VERSION (no version: the champion). */
export const exportTarget = (arg: string | undefined): { model: ModelName; version: ModelVersion | undefined } => {
  const [model, version, ...rest] = need(arg, 'MODEL[@VERSION]').split('@');
  if (rest.length > 0) throw new UsageError(`"${arg}" has more than one @; write MODEL or MODEL@VERSION`);
  return { model: modelArg(model), version: version === undefined ? undefined : versionArg(version) };
};

/**
 * flywheel export MODEL[@VERSION] DIR: one folder that classifies with onnxruntime alone (model.onnx
 * with the adapter merged, labels, featurizer spec and module, README); see buildSelfContainedExport.
 */
export async function exportCommand(d: ExportDeps, target: { model: ModelName; version: ModelVersion | undefined }, dir: string): Promise<void> {
  if (ModelVersion.safeParse(dir).success) throw new UsageError(`"${dir}" looks like a version, not a folder: write ${target.model}@${dir} DIR (or ${target.model} ${dir} --out DIR for the raw artifacts)`);
  const existing = await readdir(dir).catch(() => []);
  if (existing.length > 0) throw new UsageError(`${dir} is not empty; export into a new or empty folder`);
  const model = await requireModel(d.registry, target.model);
  const v = target.version === undefined ? await d.registry.champion(model) : await d.registry.version(model, target.version);
  if (!v) {
    throw new NotFound(target.version === undefined
      ? `${model} has no champion; name a version (flywheel versions ${model}) as ${model}@VERSION`
      : `${model}@${target.version} is not registered; list versions with: flywheel versions ${model}`);
  }
  const served = await (await d.artifacts()).readServing(v.artifact);
  if (served.baseOnnx === undefined) throw new NotFound(`the base ONNX of ${model}@${v.version} was not read; re-run the export`);
  const exported = buildSelfContainedExport({ baseOnnx: served.baseOnnx, adapterBytes: served.adapterBytes, adapterManifest: served.adapterManifest, model });
  const files = await writeExportFolder(dir, exported);
  d.print(`exported ${model}@${v.version} (${v.status}, ${exported.manifest.labels} labels, temperature ${exported.manifest.temperature}) to ${dir}: ${files.length} files; run it with onnxruntime alone (see ${dir}/README.md)`);
}
