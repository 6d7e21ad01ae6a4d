import { makeEvent, ModelName, ModelVersion } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import { NotFound } from '@flywheel/runtime';
import { readExamples, type TableFormat } from '@flywheel/learning';
import type { MinioArtifactStore, PgRegistry } from '@flywheel/registry';
import { bootstrapModel, CLI_SOURCE } from './bootstrapModel.js';
import { formatTable } from './formatTable.js';
import { importClassifier } from './importClassifier.js';
import { importEncoderModel } from './importEncoder.js';

/** What the commands need; main.ts builds them from the environment. */
export interface CliDeps {
  registry: PgRegistry;
  /** built on first use: only bootstrap and export touch the object store */
  artifacts: () => Promise<MinioArtifactStore>;
  /** absent with --no-publish: promote/rollback then change only the registry */
  publisher: Publisher | undefined;
  print: (line: string) => void;
  actor: string;
}

export const fmtMetric = (m: Record<string, number>, k: string): string => (m[k] === undefined ? '' : (m[k] as number).toFixed(4));

/** Fails with NotFound (exit 1) unless the registry knows `model`, so a typo never looks like an empty list. */
export const requireModel = async (registry: Pick<PgRegistry, 'listModels'>, model: string): Promise<ModelName> => {
  const models = await registry.listModels();
  const found = models.find((m) => m.model === model);
  if (!found) {
    const names = models.map((m) => m.model);
    throw new NotFound(`no model named ${model}; registered: ${names.slice(0, 10).join(', ') || '(none)'}${names.length > 10 ? ` and ${names.length - 10} more (flywheel models)` : ''}`);
  }
  return found.model;
};

export const commands = {
  async bootstrap(d: CliDeps, o: { model: string; data: string; format: TableFormat; reason?: string; epochs?: number }): Promise<void> {
    const examples = await readExamples(o.data, o.format);
    d.print(`training a new base for ${o.model} on ${examples.length} rows from ${o.data} …`);
    const r = await bootstrapModel(
      { registry: d.registry, artifacts: await d.artifacts(), ...(d.publisher ? { publisher: d.publisher } : {}) },
      { model: o.model, examples, actor: d.actor, ...(o.reason ? { reason: o.reason } : {}), ...(o.epochs ? { trainOptions: { epochs: o.epochs } } : {}) },
    );
    d.print(`${o.model}@${r.version.version} is champion (accuracy ${fmtMetric(r.version.metrics, 'accuracy')}, ${r.version.labels.length} labels, ${r.seconds.toFixed(1)} s)${r.previous ? `; ${r.previous} archived` : ''}`);
  },

  async import(d: CliDeps, o: { model: string; dir: string; encoderDir?: string; version?: string; reason?: string }): Promise<void> {
    d.print(`checking the classifier in ${o.dir}${o.encoderDir ? ` and the encoder in ${o.encoderDir}` : ''} …`);
    const r = await importClassifier(
      { registry: d.registry, artifacts: await d.artifacts(), publisher: d.publisher },
      { model: o.model, dir: o.dir, actor: d.actor, ...(o.encoderDir ? { encoderDir: o.encoderDir } : {}), ...(o.version ? { version: o.version } : {}), ...(o.reason ? { reason: o.reason } : {}) },
    );
    const tokenizer = r.encoder.tokenizer?.type ? `, ${r.encoder.tokenizer.type} tokenizer` : '';
    const retrain = r.studentEncoder
      ? `; retrains distil it onto encoder ${r.studentEncoder.hash.slice(0, 12)}…`
      : '; not retrainable without --encoder DIR (the encoder it was fine-tuned from)';
    d.print(`${o.model}@${r.version.version} is champion: your classifier as it is (${r.version.labels.length} labels${tokenizer}; files ${r.uploaded ? 'stored' : 'already stored'} under encoders/${r.encoder.hash.slice(0, 12)}…)${retrain}${r.previous ? `; ${r.previous} archived` : ''}`);
  },

  async importEncoder(d: CliDeps, o: { model: string; dir: string; hybridBuckets?: number; data: string; format: TableFormat; reason?: string; epochs?: number }): Promise<void> {
    const examples = await readExamples(o.data, o.format);
    d.print(`checking the encoder in ${o.dir} and training ${o.model} on its embeddings of ${examples.length} rows from ${o.data} …`);
    const r = await importEncoderModel(
      { registry: d.registry, artifacts: await d.artifacts(), publisher: d.publisher },
      { model: o.model, dir: o.dir, examples, actor: d.actor, ...(o.hybridBuckets !== undefined ? { hybridBuckets: o.hybridBuckets } : {}), ...(o.reason ? { reason: o.reason } : {}), ...(o.epochs ? { trainOptions: { epochs: o.epochs } } : {}) },
    );
    d.print(`${o.model}@${r.version.version} is champion on ${o.hybridBuckets !== undefined ? 'hybrid base' : 'encoder'} ${r.encoder.hash.slice(0, 12)}… (accuracy ${fmtMetric(r.version.metrics, 'accuracy')}, ${r.version.labels.length} labels, ${r.seconds.toFixed(1)} s; encoder ${r.uploaded ? 'stored' : 'already stored'})${r.previous ? `; ${r.previous} archived` : ''}`);
  },

  async models(d: CliDeps): Promise<void> {
    const rows = await d.registry.listModels();
    d.print(formatTable(['model', 'champion', 'challenger', 'versions', 'created'], rows.map((m) => [m.model, m.champion ?? '-', m.challenger ?? '-', String(m.versions), m.createdAt.toISOString()])));
  },

  async versions(d: CliDeps, model: string): Promise<void> {
    const rows = await d.registry.versions(await requireModel(d.registry, model));
    d.print(formatTable(['version', 'status', 'accuracy', 'forgetting', 'labels', 'base', 'parent', 'created'], rows.map((v) => [
      v.version, v.status, fmtMetric(v.metrics, 'accuracy'), fmtMetric(v.metrics, 'forgetting'), String(v.labels.length), v.baseVersion, v.parentVersion ?? '-', v.createdAt.toISOString(),
    ])));
  },

  async history(d: CliDeps, model: string): Promise<void> {
    const rows = await d.registry.history(await requireModel(d.registry, model));
    d.print(formatTable(['at', 'version', 'from', 'to', 'actor', 'reason', 'accuracy'], rows.map((h) => [
      h.at.toISOString(), h.version, h.fromStatus ?? '-', h.toStatus, h.actor, h.reason.slice(0, 80), fmtMetric(h.metrics, 'accuracy'),
    ])));
  },

  async promote(d: CliDeps, model: string, version: string, reason: string): Promise<void> {
    const m = await requireModel(d.registry, model);
    const r = await d.registry.promote(m, ModelVersion.parse(version), d.actor, reason);
    if (!r.changed) {
      d.print(`${model}@${version} is already champion; nothing changed`);
      return;
    }
    await d.publisher?.publish('modelUpdates', makeEvent('modelUpdates', { source: CLI_SOURCE, subject: m, data: { action: 'promoted', version: r.champion.version, ...(r.previous ? { previous: r.previous } : {}), reason, metrics: r.champion.metrics } }));
    d.print(`${model}@${version} is champion${r.previous ? `; ${r.previous} archived` : ''}`);
  },

  async rollback(d: CliDeps, model: string, reason: string): Promise<void> {
    const m = await requireModel(d.registry, model);
    const r = await d.registry.rollback(m, d.actor, reason);
    await d.publisher?.publish('modelUpdates', makeEvent('modelUpdates', { source: CLI_SOURCE, subject: m, data: { action: 'rolled_back', version: r.champion.version, from: r.from, reason, automatic: false } }));
    d.print(`${model} rolled back: ${r.champion.version} is champion again; ${r.from} rolled_back (flywheel promote can bring it back)`);
  },

  async export(d: CliDeps, model: string, version: string, out: string): Promise<void> {
    const v = await d.registry.version(await requireModel(d.registry, model), ModelVersion.parse(version));
    if (!v) throw new NotFound(`${model}@${version} is not registered; list versions with: flywheel versions ${model}`);
    const files = await (await d.artifacts()).exportVersion(v.artifact, out);
    d.print(`exported ${model}@${version} (${v.status}) to ${out}: ${files.length} files, hashes verified`);
  },
};
