import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ModelName, ModelVersion, type ArtifactRef, type Metrics } from '@flywheel/contracts';
import type { ObjectStore } from '@flywheel/objectstore';
import { failpoint, NotFound } from '@flywheel/runtime';
import { CorruptArtifact } from './CorruptArtifact.js';
import { BaseIndex, UploadMarker, VersionManifest, type FileEntry } from './VersionManifest.js';

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
  baseOnnx: () => Uint8Array;
}

/** Verified bytes serving needs for one version. */
export interface ServingArtifacts {
  manifest: VersionManifest;
  baseOnnx: Uint8Array | undefined;
  adapterBytes: Uint8Array;
  adapterManifest: unknown;
}

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

  /** Uploads every file of a version, then its manifest; returns the ref to store in the registry row. */
  async writeVersion(a: VersionArtifacts): Promise<ArtifactRef> {
    const prefix = this.versionPrefix(ModelName.parse(a.model), ModelVersion.parse(a.version));
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
    const [adapterBytes, adapterJson, baseOnnx] = await Promise.all([
      this.readEntry(manifest, 'adapter.bin'),
      this.readEntry(manifest, 'adapter.json'),
      opts.skipBase ? Promise.resolve(undefined) : this.readVerified(manifest.base.onnx),
    ]);
    return { manifest, baseOnnx, adapterBytes, adapterManifest: JSON.parse(Buffer.from(adapterJson).toString('utf8')) as unknown };
  }

  /** The base ONNX of a version (verified); serving caches it by baseVersion. */
  async readBaseOnnx(manifest: VersionManifest): Promise<Uint8Array> {
    return this.readVerified(manifest.base.onnx);
  }

  /** serializeTrainingState files of a version, base.bin included, all verified. */
  async readTrainingState(ref: ArtifactRef): Promise<Record<string, Uint8Array>> {
    const manifest = await this.readManifest(ref);
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
    await write('base/base.onnx', await this.readVerified(manifest.base.onnx));
    await write('base/base.bin', await this.readVerified(manifest.base.weights));
    await write('manifest.json', new TextEncoder().encode(JSON.stringify(manifest, null, 2)));
    return written;
  }

  /** Deletes every object of a version (manifest first, so a reader never sees a manifest without its files). */
  async removeVersion(model: string, version: string): Promise<void> {
    const prefix = this.versionPrefix(model, version);
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
      const startedAt = await this.uploadStartedAt(prefix);
      if (startedAt !== undefined && now - startedAt < opts.olderThanMs) continue;
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
