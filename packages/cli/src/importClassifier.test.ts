import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Publisher } from '@flywheel/bus';
import type { ModelVersion } from '@flywheel/contracts';
import { writeTinyEncoder } from '@flywheel/learning/testing';
import type { EncoderRef, ImportedArtifacts, NewVersion, VersionRecord } from '@flywheel/registry';
import { ConfigError, Conflict } from '@flywheel/runtime';
import { importClassifier } from './importClassifier.js';

const root = await mkdtemp(join(tmpdir(), 'cli-import-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const { dir } = await writeTinyEncoder(join(root, 'clf'), { texts: ['what is my balance', 'book a flight', 'play music'], minCharCount: 1, classes: 2, seed: 2 });
await writeFile(join(dir, 'config.json'), JSON.stringify({ id2label: { 0: 'urgent', 1: 'later' } }));

/** Fakes of the registry and artifact store that record what the import asked of them. */
function fakes(taken: string[] = []) {
  const stored: { hash: string; names: string[]; labelsTxt: string }[] = [];
  const written: ImportedArtifacts[] = [];
  const registered: NewVersion[] = [];
  const published: unknown[] = [];
  const registry = {
    ensureModel: async () => {},
    version: async (_m: string, v: string) => (taken.includes(v) ? ({ version: v } as unknown as VersionRecord) : undefined),
    nextVersion: async () => '1.0.0' as ModelVersion,
    registerChampion: async (v: NewVersion) => {
      registered.push(v);
      return { version: { ...v, status: 'champion' } as unknown as VersionRecord, previous: undefined };
    },
  };
  const artifacts = {
    ensureEncoder: async (hash: string, files: Readonly<Record<string, Uint8Array>>, tokenizer?: EncoderRef['tokenizer']) => {
      stored.push({ hash, names: Object.keys(files).sort(), labelsTxt: new TextDecoder().decode(files['labels.txt']) });
      const entries = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, { key: `encoders/${hash}/${n}`, sha256: '0'.repeat(64), bytes: b.byteLength }]));
      return { encoder: { hash, files: entries, ...(tokenizer ? { tokenizer } : {}) }, uploaded: true };
    },
    writeImportedVersion: async (a: ImportedArtifacts) => {
      written.push(a);
      return { bucket: 'b', prefix: `models/${a.model}/${a.version}/${a.attempt}/`, manifestKey: `models/${a.model}/${a.version}/${a.attempt}/manifest.json`, sha256: '1'.repeat(64) };
    },
  };
  const publisher = { publish: async (_topic: string, event: unknown) => void published.push(event) } as unknown as Publisher;
  return { registry, artifacts, publisher, stored, written, registered, published };
}

describe('importClassifier', () => {
  it('stores the folder under its hash with labels.txt in output order, registers champion with an imported base and announces it', async () => {
    const f = fakes();
    const r = await importClassifier(f, { model: 'tickets', dir, actor: 'test' });
    expect(r.version.version).toBe('1.0.0');
    expect(f.stored).toHaveLength(1);
    expect(f.stored[0]!.names).toEqual(['labels.txt', 'model.onnx', 'tokenizer.json']);
    expect(f.stored[0]!.labelsTxt).toBe('urgent\nlater\n');
    expect(r.encoder.tokenizer).toMatchObject({ type: 'WordPiece' });
    expect(f.written[0]).toMatchObject({ model: 'tickets', version: '1.0.0', labels: ['urgent', 'later'] });
    expect(f.written[0]!.attempt).toMatch(/^import-[0-9a-f]{8}$/);
    expect(f.registered[0]).toMatchObject({ labels: ['urgent', 'later'], baseVersion: `imported-${f.stored[0]!.hash.slice(0, 16)}`, actor: 'test' });
    expect(f.published).toEqual([expect.objectContaining({ subject: 'tickets', data: expect.objectContaining({ action: 'promoted', version: '1.0.0' }) })]);
  });

  it('refuses a version that is already registered before storing anything', async () => {
    const f = fakes(['1.0.0']);
    await expect(importClassifier(f, { model: 'tickets', dir, version: '1.0.0', actor: 'test' })).rejects.toBeInstanceOf(Conflict);
    expect(f.stored).toEqual([]);
    expect(f.written).toEqual([]);
  });

  it('refuses a folder that is not a classifier with a configuration error naming what is missing', async () => {
    const f = fakes();
    const err = await importClassifier(f, { model: 'tickets', dir: join(root, 'missing'), actor: 'test' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/no model\.onnx and tokenizer\.json/);
    expect(f.stored).toEqual([]);
  });

  it('with --encoder stores the encoder too (under its own content hash) and records it as the base the trainer distils onto', async () => {
    const f = fakes();
    const { dir: encoderDir } = await writeTinyEncoder(join(root, 'enc'), { texts: ['what is my balance', 'book a flight', 'play music'], minCharCount: 1, pooling: 'mean', seed: 3 });
    const r = await importClassifier(f, { model: 'tickets', dir, encoderDir, actor: 'test' });
    expect(f.stored).toHaveLength(2);
    const [student, classifier] = f.stored;
    expect(student!.names).toEqual(['flywheel-encoder.json', 'model.onnx', 'tokenizer.json']);
    expect(student!.hash).not.toBe(classifier!.hash);
    expect(r.studentEncoder?.hash).toBe(student!.hash);
    expect(f.written[0]!.studentEncoder?.hash).toBe(student!.hash);
    expect(f.registered[0]!.reason).toMatch(/retrainable on the encoder/);
  });

  it('refuses an encoder folder that does not open before registering anything', async () => {
    const f = fakes();
    await expect(importClassifier(f, { model: 'tickets', dir, encoderDir: join(root, 'no-such-encoder'), actor: 'test' })).rejects.toBeInstanceOf(ConfigError);
    expect(f.written).toEqual([]);
    expect(f.registered).toEqual([]);
  });
});
