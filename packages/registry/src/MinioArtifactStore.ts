import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelName, ModelVersion, type ArtifactRef, type Metrics } from '@flywheel/contracts';
import type { ObjectStore } from '@flywheel/objectstore';
import { failpoint, NotFound } from '@flywheel/runtime';
import { CorruptArtifact } from './CorruptArtifact.js';
import { BaseIndex, EncoderIndex, UploadMarker, VersionManifest, type DatasetSample, type EncoderRef, type FileEntry } from './VersionManifest.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const VERSION_DIR = /^models\/([a-z][a-z0-9-]{0,62})\/(\d+\.\d+\.\d+)\//;

/** What writeVersion needs; `baseOnnx` is only called when the base is not stored yet (it is large). */
export interface VersionArtifacts {
  model: ModelName;
  version: ModelVersion;
  baseVersion: string;
  parentVersion?: ModelVersion;
  labels: string[];
  metrics: Metrics;
  adapter: { bytes: Uint8Array; manifest: unknown };
  /** serializeTrainingState output; its base.bin goes to the shared base prefix. */
  state: Record<string, Uint8Array>;
  dataset: Uint8Array;
  /** How the fresh rows in `dataset` were sampled (recorded in the manifest). */
  datasetSample?: DatasetSample;
  baseOnnx: () => Uint8Array;
  /** the frozen encoder folder (stored with ensureEncoder) a base trained on an encoder runs on */
  encoder?: EncoderRef;
  /**
   * The upload's own folder under the version (the trainer passes `<job id>-e<epoch>`): two attempts
   * at one version (a job taken over while it still uploaded, and the next job) never write or
   * remove each other's files. The registry row's ref points at the folder; readers follow the ref.
   */
  attempt?: string;
}

/** The baseVersion an imported classifier's registry row carries: its folder's hash, shortened. */
export const importedBaseVersion = (hash: string): string => `imported-${hash.slice(0, 16)}`;
/** Whether a registry row's baseVersion is an imported classifier's (it has no training state to continue from). */
export const isImportedBaseVersion = (baseVersion: string): boolean => /^imported-[a-f0-9]{16}$/.test(baseVersion);

const ATTEMPT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A user's classifier registered as it is (flywheel import): its folder is stored once under encoders/<hash>/. */
export interface ImportedArtifacts {
  model: ModelName;
  version: ModelVersion;
  labels: string[];
  metrics: Metrics;
  encoder: EncoderRef;
  /** a feature-extraction encoder (stored with ensureEncoder) the trainer distils the classifier's first successor onto */
  studentEncoder?: EncoderRef;
  /** the upload's own folder under the version, as in VersionArtifacts: a refused registration never touches another upload's manifest */
  attempt?: string;
}

/** Verified bytes serving needs for one version. */
export interface ServingArtifacts {
  manifest: VersionManifest;
  baseOnnx: Uint8Array | undefined;
  /** empty for an imported classifier (manifest.kind 'imported-classifier'): it has no adapter */
  adapterBytes: Uint8Array;
  adapterManifest: unknown;
}

const missingBase = (m: VersionManifest): CorruptArtifact =>
  new CorruptArtifact(`${m.model}@${m.version} is ${m.kind === 'imported-classifier' ? 'an imported classifier and has' : 'a version with'} no Flywheel base; read its encoder folder (readEncoderFiles) instead`);

/**
 * Version artifacts on any S3 API. Files are written first and manifest.json last (it holds the
 * sha256 of each), so a manifest only exists for a complete upload; the registry row is written by
 * the caller after writeVersion returns. Readers verify every hash.
 */
export class MinioArtifactStore {
  constructor(private readonly store: ObjectStore) {}

  /** models/<model>/<version>/ */
  versionPrefix(model: string, version: string): string {
    return `models/${model}/${version}/`;
  }

  /** models/<model>/base/<baseVersion>/ */
  basePrefix(model: string, baseVersion: string): string {
    return `models/${model}/base/${baseVersion}/`;
  }

  /** encoders/<hash>/: a user's encoder or classifier folder, shared by every model and version using it. */
  encoderPrefix(hash: string): string {
    return `encoders/${hash}/`;
  }

  /**
   * Stores an encoder folder under its content hash unless encoder.json says it is already there
   * (files first, encoder.json last); returns the reference a manifest carries.
   */
  async ensureEncoder(hash: string, files: Readonly<Record<string, Uint8Array>>, tokenizer?: EncoderRef['tokenizer']): Promise<{ encoder: EncoderRef; uploaded: boolean }> {
    if (!/^[a-f0-9]{64}$/.test(hash)) throw new Error(`encoder hash ${JSON.stringify(hash)} is not a sha256 hex digest`);
    const prefix = this.encoderPrefix(hash);
    const indexKey = `${prefix}encoder.json`;
    if (await this.store.exists(indexKey)) {
      const idx = EncoderIndex.safeParse(JSON.parse((await this.store.get(indexKey)).toString('utf8')));
      if (idx.success) return { encoder: idx.data.encoder, uploaded: false };
    }
    const entries: Record<string, FileEntry> = {};
    for (const [name, bytes] of Object.entries(files)) {
      if (!ATTEMPT.test(name)) throw new Error(`encoder file name ${JSON.stringify(name)} is not a plain file name`);
      const key = `${prefix}${name}`;
      await this.store.put(key, bytes, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
      entries[name] = { key, sha256: sha256(bytes), bytes: bytes.byteLength };
    }
    const encoder: EncoderRef = { hash, files: entries, ...(tokenizer ? { tokenizer } : {}) };
    const index: EncoderIndex = { format: 'flywheel-encoder/v1', encoder, createdAt: new Date().toISOString() };
    await this.store.put(indexKey, JSON.stringify(EncoderIndex.parse(index)), 'application/json');
    return { encoder, uploaded: true };
  }

  /** Every file of an encoder folder by name, verified. */
  async readEncoderFiles(encoder: EncoderRef): Promise<Record<string, Uint8Array>> {
    const names = Object.keys(encoder.files);
    const bytes = await Promise.all(names.map((n) => this.readVerified(encoder.files[n]!)));
    return Object.fromEntries(names.map((n, i) => [n, bytes[i]!]));
  }

  /**
   * Registers a user's classifier as a version: only a manifest (kind imported-classifier) pointing at
   * its stored encoder folder; the ref goes into the registry row as for any version.
   */
  async writeImportedVersion(a: ImportedArtifacts): Promise<ArtifactRef> {
    if (a.attempt !== undefined && !ATTEMPT.test(a.attempt)) throw new Error(`upload attempt ${JSON.stringify(a.attempt)} is not a plain folder name (letters, digits, . _ -)`);
    const prefix = `${this.versionPrefix(ModelName.parse(a.model), ModelVersion.parse(a.version))}${a.attempt !== undefined ? `${a.attempt}/` : ''}`;
    await this.store.put(`${prefix}upload.json`, JSON.stringify({ startedAt: new Date().toISOString() }), 'application/json');
    const manifest: VersionManifest = {
      format: 'flywheel-version/v1',
      model: a.model,
      version: a.version,
      baseVersion: importedBaseVersion(a.encoder.hash),
      labels: a.labels,
      metrics: a.metrics,
      createdAt: new Date().toISOString(),
      files: {},
      kind: 'imported-classifier',
      encoder: a.encoder,
      ...(a.studentEncoder ? { studentEncoder: a.studentEncoder } : {}),
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(VersionManifest.parse(manifest)));
    const manifestKey = `${prefix}manifest.json`;
    await this.store.put(manifestKey, manifestBytes, 'application/json');
    return { bucket: this.store.bucket, prefix, manifestKey, sha256: sha256(manifestBytes) };
  }

  /** Uploads every file of a version, then its manifest; returns the ref to store in the registry row. */
  async writeVersion(a: VersionArtifacts): Promise<ArtifactRef> {
    if (a.attempt !== undefined && !ATTEMPT.test(a.attempt)) throw new Error(`upload attempt ${JSON.stringify(a.attempt)} is not a plain folder name (letters, digits, . _ -)`);
    const prefix = `${this.versionPrefix(ModelName.parse(a.model), ModelVersion.parse(a.version))}${a.attempt !== undefined ? `${a.attempt}/` : ''}`;
    await this.store.put(`${prefix}upload.json`, JSON.stringify({ startedAt: new Date().toISOString() }), 'application/json');
    const base = await this.ensureBase(a);
    const files: Record<string, FileEntry> = {};
    const put = async (name: string, body: Uint8Array, type: string): Promise<void> => {
      const key = `${prefix}${name}`;
      await this.store.put(key, body, type);
      files[name] = { key, sha256: sha256(body), bytes: body.byteLength };
    };
    await put('adapter.bin', a.adapter.bytes, 'application/octet-stream');
    await put('adapter.json', new TextEncoder().encode(JSON.stringify(a.adapter.manifest)), 'application/json');
    failpoint('artifacts.mid-upload'); // some files stored, no manifest: an orphan the trainer's recovery must remove
    for (const [name, bytes] of Object.entries(a.state)) {
      if (name === 'base.bin') continue;
      await put(`state/${name}`, bytes, name.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    }
    await put('dataset.jsonl', a.dataset, 'application/x-ndjson');
    const manifest: VersionManifest = {
      format: 'flywheel-version/v1',
      model: a.model,
      version: a.version,
      baseVersion: a.baseVersion,
      ...(a.parentVersion !== undefined ? { parentVersion: a.parentVersion } : {}),
      labels: a.labels,
      metrics: a.metrics,
      createdAt: new Date().toISOString(),
      files,
      base,
      ...(a.datasetSample ? { dataset: a.datasetSample } : {}),
      ...(a.encoder ? { encoder: a.encoder } : {}),
    };
    const manifestBytes = new TextEncoder().encode(JSON.stringify(VersionManifest.parse(manifest)));
    const manifestKey = `${prefix}manifest.json`;
    await this.store.put(manifestKey, manifestBytes, 'application/json');
    return { bucket: this.store.bucket, prefix, manifestKey, sha256: sha256(manifestBytes) };
  }

  /** The version's manifest, checked against the ref's sha256. */
  async readManifest(ref: ArtifactRef): Promise<VersionManifest> {
    const bytes = await this.getOrCorrupt(ref.manifestKey);
    if (sha256(bytes) !== ref.sha256) throw new CorruptArtifact(`manifest ${ref.manifestKey} does not match the registry's sha256; the upload was replaced or damaged — re-register the version`);
    const parsed = VersionManifest.safeParse(JSON.parse(bytes.toString('utf8')));
    if (!parsed.success) throw new CorruptArtifact(`manifest ${ref.manifestKey} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data;
  }

  /** Adapter, its manifest and (unless skipped, e.g. when the base is cached) the base ONNX, all verified. */
  async readServing(ref: ArtifactRef, opts: { skipBase?: boolean } = {}): Promise<ServingArtifacts> {
    const manifest = await this.readManifest(ref);
    if (manifest.kind === 'imported-classifier') return { manifest, baseOnnx: undefined, adapterBytes: new Uint8Array(0), adapterManifest: undefined };
    const [adapterBytes, adapterJson, baseOnnx] = await Promise.all([
      this.readEntry(manifest, 'adapter.bin'),
      this.readEntry(manifest, 'adapter.json'),
      opts.skipBase ? Promise.resolve(undefined) : this.readBaseOnnx(manifest),
    ]);
    return { manifest, baseOnnx, adapterBytes, adapterManifest: JSON.parse(Buffer.from(adapterJson).toString('utf8')) as unknown };
  }

  /** The base ONNX of a version (verified); serving caches it by baseVersion. */
  async readBaseOnnx(manifest: VersionManifest): Promise<Uint8Array> {
    if (manifest.base === undefined) throw missingBase(manifest);
    return this.readVerified(manifest.base.onnx);
  }

  /** serializeTrainingState files of a version, base.bin included, all verified. */
  async readTrainingState(ref: ArtifactRef): Promise<Record<string, Uint8Array>> {
    const manifest = await this.readManifest(ref);
    if (manifest.base === undefined) throw missingBase(manifest);
    const out: Record<string, Uint8Array> = { 'base.bin': await this.readVerified(manifest.base.weights) };
    for (const name of Object.keys(manifest.files)) {
      if (name.startsWith('state/')) out[name.slice('state/'.length)] = await this.readEntry(manifest, name);
    }
    return out;
  }

  /** The training set snapshot (JSONL) the version was trained on. */
  async readDataset(ref: ArtifactRef): Promise<Uint8Array> {
    return this.readEntry(await this.readManifest(ref), 'dataset.jsonl');
  }

  /** Copies every verified file of a version (base included) into `dir`; returns the written paths. */
  async exportVersion(ref: ArtifactRef, dir: string): Promise<string[]> {
    const manifest = await this.readManifest(ref);
    const written: string[] = [];
    const write = async (rel: string, bytes: Uint8Array): Promise<void> => {
      const path = join(dir, rel);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
      written.push(path);
    };
    for (const name of Object.keys(manifest.files)) await write(name, await this.readEntry(manifest, name));
    if (manifest.base !== undefined) {
      await write('base/base.onnx', await this.readVerified(manifest.base.onnx));
      await write('base/base.bin', await this.readVerified(manifest.base.weights));
    }
    if (manifest.encoder !== undefined) {
      for (const [name, bytes] of Object.entries(await this.readEncoderFiles(manifest.encoder))) await write(`encoder/${name}`, bytes);
    }
    await write('manifest.json', new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
    return written;
  }

  /**
   * Deletes every object of a version, or with `attempt` only that upload's folder (manifest first,
   * so a reader never sees a manifest without its files).
   */
  async removeVersion(model: string, version: string, attempt?: string): Promise<void> {
    if (attempt !== undefined && !ATTEMPT.test(attempt)) throw new Error(`upload attempt ${JSON.stringify(attempt)} is not a plain folder name (letters, digits, . _ -)`);
    const prefix = `${this.versionPrefix(model, version)}${attempt !== undefined ? `${attempt}/` : ''}`;
    const keys = await this.store.list(prefix);
    const manifest = keys.filter((k) => k.endsWith('/manifest.json'));
    await this.store.remove([...manifest, ...keys.filter((k) => !manifest.includes(k))]);
  }

  /**
   * Removes version prefixes that no registry row points to and whose upload started more than
   * `olderThanMs` ago (younger ones may belong to a job still uploading). Returns removed prefixes.
   */
  async sweepOrphans(isRegistered: (model: string, version: string) => Promise<boolean>, opts: { olderThanMs: number; now?: Date; model?: string }): Promise<string[]> {
    const now = (opts.now ?? new Date()).getTime();
    const keys = await this.store.list(opts.model ? `models/${opts.model}/` : 'models/');
    const prefixes = new Map<string, { model: string; version: string }>();
    for (const k of keys) {
      const m = VERSION_DIR.exec(k);
      if (m) prefixes.set(m[0], { model: m[1]!, version: m[2]! });
    }
    const removed: string[] = [];
    for (const [prefix, { model, version }] of prefixes) {
      if (await isRegistered(model, version)) continue;
      // The youngest upload under the version (its own marker, or those of its attempt folders) decides.
      const markers = keys.filter((k) => k.startsWith(prefix) && /^(?:[^/]+\/)?upload\.json$/.test(k.slice(prefix.length)));
      const started = (await Promise.all(markers.map((k) => this.uploadStartedAt(k.slice(0, -'upload.json'.length))))).filter((t): t is number => t !== undefined);
      if (started.length > 0 && now - Math.max(...started) < opts.olderThanMs) continue;
      await this.removeVersion(model, version);
      removed.push(prefix);
    }
    return removed;
  }

  private async uploadStartedAt(prefix: string): Promise<number | undefined> {
    try {
      const marker = UploadMarker.safeParse(JSON.parse((await this.store.get(`${prefix}upload.json`)).toString('utf8')));
      return marker.success ? Date.parse(marker.data.startedAt) : undefined;
    } catch (err) {
      if (err instanceof NotFound || err instanceof SyntaxError) return undefined;
      throw err;
    }
  }

  private async ensureBase(a: VersionArtifacts): Promise<{ onnx: FileEntry; weights: FileEntry }> {
    const prefix = this.basePrefix(a.model, a.baseVersion);
    const indexKey = `${prefix}base.json`;
    if (await this.store.exists(indexKey)) {
      const idx = BaseIndex.safeParse(JSON.parse((await this.store.get(indexKey)).toString('utf8')));
      if (idx.success) return { onnx: idx.data.onnx, weights: idx.data.weights };
    }
    const weightsBytes = a.state['base.bin'];
    if (weightsBytes === undefined) throw new NotFound(`base ${a.baseVersion} of ${a.model} is not stored and the training state has no base.bin; pass serializeTrainingState output`);
    const onnxBytes = a.baseOnnx();
    const onnx = { key: `${prefix}base.onnx`, sha256: sha256(onnxBytes), bytes: onnxBytes.byteLength };
    const weights = { key: `${prefix}base.bin`, sha256: sha256(weightsBytes), bytes: weightsBytes.byteLength };
    await this.store.put(onnx.key, onnxBytes);
    await this.store.put(weights.key, weightsBytes);
    const index: BaseIndex = { format: 'flywheel-base/v1', baseVersion: a.baseVersion, onnx, weights, createdAt: new Date().toISOString() };
    await this.store.put(indexKey, JSON.stringify(index), 'application/json');
    return { onnx, weights };
  }

  private async readEntry(manifest: VersionManifest, name: string): Promise<Uint8Array> {
    const entry = manifest.files[name];
    if (!entry) throw new CorruptArtifact(`${manifest.model}@${manifest.version} has no ${name} in its manifest`);
    return this.readVerified(entry);
  }

  private async readVerified(entry: FileEntry): Promise<Uint8Array> {
    const bytes = await this.getOrCorrupt(entry.key);
    if (bytes.byteLength !== entry.bytes || sha256(bytes) !== entry.sha256) {
      throw new CorruptArtifact(`${entry.key} does not match its manifest (sha256/size); the artifact is damaged — re-export or retrain this version`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private async getOrCorrupt(key: string): Promise<Buffer> {
    try {
      return await this.store.get(key);
    } catch (err) {
      if (err instanceof NotFound) throw new CorruptArtifact(`${key} is missing from the object store`, { cause: err });
      throw err;
    }
  }
}
