// Encoder folders (issue 15): a user's model files stored once under encoders/<hash>/ and shared by
// every version; an imported classifier's version is a manifest pointing at them. Real S3 API,
// private bucket.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { CorruptArtifact, importedBaseVersion, isImportedBaseVersion, MinioArtifactStore } from './index.js';

let p: IsolatedPlatform;
let artifacts: MinioArtifactStore;
let store: MinioObjectStore;
beforeAll(async () => {
  p = await isolatedPlatform('registry-encoders');
  store = await p.objectStore();
  artifacts = new MinioArtifactStore(store);
});
afterAll(() => p?.drop());

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('MinioArtifactStore encoder folders (real S3 API)', () => {
  it('stores a folder once, reads it back verified, and serves an imported version without adapter or base', async () => {
    const hash = createHash('sha256').update(randomUUID()).digest('hex');
    const files = { 'model.onnx': bytes('onnx bytes'), 'tokenizer.json': bytes('{"model":{"type":"WordPiece"}}'), 'labels.txt': bytes('a\nb\n') };
    const first = await artifacts.ensureEncoder(hash, files, { type: 'WordPiece' });
    expect(first.uploaded).toBe(true);
    expect(first.encoder.files['model.onnx']?.key).toBe(`encoders/${hash}/model.onnx`);
    const again = await artifacts.ensureEncoder(hash, { 'model.onnx': bytes('other bytes') });
    expect(again).toEqual({ encoder: first.encoder, uploaded: false });
    const read = await artifacts.readEncoderFiles(first.encoder);
    expect(Object.fromEntries(Object.entries(read).map(([n, b]) => [n, text(b)]))).toEqual({ 'model.onnx': 'onnx bytes', 'tokenizer.json': '{"model":{"type":"WordPiece"}}', 'labels.txt': 'a\nb\n' });

    const model = ModelName.parse(`reg-${randomUUID().slice(0, 8)}`);
    const ref = await artifacts.writeImportedVersion({ model, version: ModelVersion.parse('1.0.0'), labels: ['a', 'b'], metrics: {}, encoder: first.encoder, attempt: 'import-1' });
    expect(ref.manifestKey).toBe(`models/${model}/1.0.0/import-1/manifest.json`);
    const served = await artifacts.readServing(ref);
    expect(served.manifest).toMatchObject({ kind: 'imported-classifier', baseVersion: importedBaseVersion(hash), labels: ['a', 'b'], encoder: { hash } });
    expect(isImportedBaseVersion(served.manifest.baseVersion)).toBe(true);
    expect(served.adapterBytes.byteLength).toBe(0);
    expect(served.baseOnnx).toBeUndefined();
    await expect(artifacts.readTrainingState(ref)).rejects.toThrow(/imported classifier and has no Flywheel base/);

    // A damaged file is caught on read.
    await store.put(`encoders/${hash}/model.onnx`, bytes('tampered!!'));
    await expect(artifacts.readEncoderFiles(first.encoder)).rejects.toBeInstanceOf(CorruptArtifact);
  });

  it('refuses a hash that is not a sha256 digest and a file name with a path in it', async () => {
    await expect(artifacts.ensureEncoder('../x', { 'model.onnx': bytes('x') })).rejects.toThrow(/not a sha256/);
    const hash = createHash('sha256').update(randomUUID()).digest('hex');
    await expect(artifacts.ensureEncoder(hash, { '../model.onnx': bytes('x') })).rejects.toThrow(/not a plain file name/);
  });
});
