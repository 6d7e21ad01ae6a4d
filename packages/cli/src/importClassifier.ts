import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeEvent, ModelName, ModelVersion, type ModelVersion as Version } from '@flywheel/contracts';
import type { Publisher } from '@flywheel/bus';
import { ENCODER_FILES, loadImportedClassifier } from '@flywheel/learning';
import { importedBaseVersion, type EncoderRef, type MinioArtifactStore, type PgRegistry, type VersionRecord } from '@flywheel/registry';
import { ConfigError, Conflict } from '@flywheel/runtime';
import { CLI_SOURCE } from './bootstrapModel.js';
import { storeEncoderFolder } from './storeEncoderFolder.js';
import { tokenizerInfo } from './tokenizerInfo.js';

/** labels.txt written next to the model files in the store: the labels in output order, whatever the folder named them by. */
export const STORED_LABELS_FILE = 'labels.txt';

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cause;
  }
}

/**
 * Registers a user's text classifier folder (model.onnx with a logits output, tokenizer.json, labels
 * from config.json id2label or labels.txt) as the champion of `model`, served as it is.
 * The folder is opened first (every check of loadImportedClassifier, and one probe inference), then
 * stored once under encoders/<hash>/ (skipped when already there) and the version is registered
 * with a manifest of kind imported-classifier. Publishes model-updates `promoted` when a publisher is given.
 * With `encoderDir` (the feature-extraction encoder the classifier was fine-tuned from) that folder is
 * checked and stored too: the trainer distils the classifier onto it in the first update.
 */
export async function importClassifier(
  deps: {
    registry: Pick<PgRegistry, 'nextVersion' | 'registerChampion' | 'ensureModel' | 'version'>;
    artifacts: Pick<MinioArtifactStore, 'ensureEncoder' | 'writeImportedVersion'>;
    publisher?: Publisher | undefined;
  },
  input: { model: string; dir: string; encoderDir?: string; version?: string; actor: string; reason?: string; description?: string },
): Promise<{ version: VersionRecord; previous: Version | undefined; encoder: EncoderRef; uploaded: boolean; studentEncoder: EncoderRef | undefined }> {
  const model = ModelName.parse(input.model);
  if (input.version !== undefined && (await deps.registry.version(model, ModelVersion.parse(input.version))) !== undefined) {
    throw new Conflict(`${model}@${input.version} is already registered; pass a higher --version or leave it out (the next major version is used)`);
  }
  const classifier = await loadImportedClassifier(input.dir);
  let labels: string[];
  let hash: string;
  try {
    labels = [...classifier.labels];
    hash = classifier.hash;
  } finally {
    await classifier.release();
  }
  const files: Record<string, Uint8Array> = {};
  for (const name of [ENCODER_FILES.model, ENCODER_FILES.tokenizer, ENCODER_FILES.tokenizerConfig, ENCODER_FILES.config]) {
    const bytes = await readOptional(join(input.dir, name));
    if (bytes !== undefined) files[name] = bytes;
  }
  const tokenizer = files[ENCODER_FILES.tokenizer];
  if (files[ENCODER_FILES.model] === undefined || tokenizer === undefined) {
    throw new ConfigError(`${input.dir} changed while it was imported (model.onnx or tokenizer.json is gone); run flywheel import again`, { reason: 'classifier_folder_changed' });
  }
  // The hash covers the model files and the labels; labels.txt stores exactly those labels, so the stored folder is the hash's content.
  files[STORED_LABELS_FILE] = new TextEncoder().encode(`${labels.join('\n')}\n`);
  // The encoder is checked (and stored) first: a folder that does not open leaves the classifier unregistered.
  let studentEncoder: EncoderRef | undefined;
  if (input.encoderDir !== undefined) {
    const student = await storeEncoderFolder(deps.artifacts, input.encoderDir);
    await student.encoder.release();
    studentEncoder = student.ref;
  }
  const stored = await deps.artifacts.ensureEncoder(hash, files, tokenizerInfo(tokenizer));

  await deps.registry.ensureModel(model, input.description);
  const version = input.version !== undefined ? ModelVersion.parse(input.version) : await deps.registry.nextVersion(model, { labelsAdded: false, newBase: true });
  const metrics = {};
  // Its own upload folder: a registration refused below (a version taken meanwhile) leaves an orphan the sweep removes, never a changed manifest.
  const artifact = await deps.artifacts.writeImportedVersion({ model, version, labels, metrics, encoder: stored.encoder, ...(studentEncoder ? { studentEncoder } : {}), attempt: `import-${randomUUID().slice(0, 8)}` });
  const reason = input.reason ?? `imported classifier from ${input.dir} (${labels.length} labels)${studentEncoder ? `, retrainable on the encoder in ${input.encoderDir}` : ''}`;
  const out = await deps.registry.registerChampion({ model, version, baseVersion: importedBaseVersion(hash), labels, metrics, artifact, actor: input.actor, reason });
  await deps.publisher?.publish('modelUpdates', makeEvent('modelUpdates', {
    source: CLI_SOURCE, subject: model,
    data: { action: 'promoted', version, ...(out.previous ? { previous: out.previous } : {}), reason, metrics },
  }));
  return { version: out.version, previous: out.previous, encoder: stored.encoder, uploaded: stored.uploaded, studentEncoder };
}
