// Upload attempts (issue 13): each attempt at a version writes its own folder, so removing one
// attempt (a dead job's) never touches another's, and the orphan sweep judges a version by its
// youngest upload. Real S3 API, private bucket.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { MinioArtifactStore } from './index.js';

let p: IsolatedPlatform;
let artifacts: MinioArtifactStore;
let store: MinioObjectStore;
beforeAll(async () => {
  p = await isolatedPlatform('registry-attempts');
  store = await p.objectStore();
  artifacts = new MinioArtifactStore(store);
});
afterAll(() => p?.drop());

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const write = (model: ModelName, attempt: string | undefined, adapter = 'adapter') =>
  artifacts.writeVersion({
    model, version: ModelVersion.parse('1.0.1'), baseVersion: 'b0', labels: ['x'], metrics: { accuracy: 1 },
    adapter: { bytes: bytes(adapter), manifest: { format: 'test' } },
    state: { 'state.json': bytes('{}'), 'base.bin': bytes('weights') },
    dataset: bytes('{"text":"t","label":"x"}\n'),
    baseOnnx: () => bytes('onnx'),
    ...(attempt !== undefined ? { attempt } : {}),
  });

describe('MinioArtifactStore upload attempts (real S3 API)', () => {
  it('writes each attempt in its own folder, readable through its ref, and removes one attempt without touching another', async () => {
    const m = ModelName.parse(`reg-${randomUUID().slice(0, 8)}`);
    const dead = await write(m, 'job1-e1', 'dead job');
    const live = await write(m, 'job2-e1', 'live job');
    expect(dead.prefix).toBe(`models/${m}/1.0.1/job1-e1/`);
    expect(live.manifestKey).toBe(`models/${m}/1.0.1/job2-e1/manifest.json`);
    await artifacts.removeVersion(m, '1.0.1', 'job1-e1');
    expect(await store.list(dead.prefix)).toEqual([]);
    expect(Buffer.from((await artifacts.readServing(live, { skipBase: true })).adapterBytes).toString()).toBe('live job');
    await expect(artifacts.removeVersion(m, '1.0.1', '../1.0.0')).rejects.toThrow(/not a plain folder name/);
    await expect(write(m, 'a/b')).rejects.toThrow(/not a plain folder name/);
  });

  it('the orphan sweep keeps a version while its youngest attempt is young, then removes all of it', async () => {
    const m = ModelName.parse(`reg-${randomUUID().slice(0, 8)}`);
    await write(m, 'job1-e1');
    const unregistered = async () => false;
    expect(await artifacts.sweepOrphans(unregistered, { olderThanMs: 60_000, model: m })).toEqual([]);
    expect(await artifacts.sweepOrphans(unregistered, { olderThanMs: 60_000, model: m, now: new Date(Date.now() + 120_000) })).toEqual([`models/${m}/1.0.1/`]);
    expect(await store.list(`models/${m}/1.0.1/`)).toEqual([]);
  });
});
