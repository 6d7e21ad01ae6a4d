import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelName, ModelVersion, type ArtifactRef } from '@flywheel/contracts';
import type { MinioObjectStore } from '@flywheel/objectstore';
import { Conflict, NotFound } from '@flywheel/runtime';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { CorruptArtifact, migrateRegistry, MinioArtifactStore, PgRegistry, type DatasetSample, type NewVersion } from './index.js';

// Private schema and bucket: the registry tables and artifacts of this file are dropped at the end.
let p: IsolatedPlatform;
let pool: IsolatedPlatform['pool'];
let registry: PgRegistry;
let artifacts: MinioArtifactStore;
let store: MinioObjectStore;

const uniqueModel = (): ModelName => ModelName.parse(`reg-${randomUUID().slice(0, 8)}`);
const v = (s: string): ModelVersion => ModelVersion.parse(s);
const ref = (model: string, version: string): ArtifactRef => ({ bucket: 'b', prefix: `models/${model}/${version}/`, manifestKey: `models/${model}/${version}/manifest.json`, sha256: 'a'.repeat(64) });
const newVersion = (model: ModelName, version: string, extra: Partial<NewVersion> = {}): NewVersion => ({
  model, version: v(version), baseVersion: 'base1', labels: ['a', 'b'], metrics: { accuracy: 0.9 }, artifact: ref(model, version), actor: 'test', reason: 'test', ...extra,
});

beforeAll(async () => {
  p = await isolatedPlatform('registry');
  pool = p.pool;
  registry = new PgRegistry(pool);
  await migrateRegistry(pool);
  store = await p.objectStore();
  artifacts = new MinioArtifactStore(store);
});
afterAll(() => p?.drop());

describe('PgRegistry (real PostgreSQL)', () => {
  it('walks the lifecycle and records every move with who, why and metrics', async () => {
    const m = uniqueModel();
    await registry.registerChampion(newVersion(m, '1.0.0', { actor: 'ops', reason: 'bootstrap' }));
    expect(await registry.nextVersion(m, { labelsAdded: false, newBase: false })).toBe('1.0.1');
    await registry.registerChallenger(newVersion(m, '1.0.1', { metrics: { accuracy: 0.95 } }));
    expect((await registry.challenger(m))?.version).toBe('1.0.1');
    const p = await registry.promote(m, v('1.0.1'), 'ab-router', 'significant win', { accuracy: 0.96 });
    expect(p).toMatchObject({ previous: '1.0.0', changed: true });
    expect((await registry.champion(m))?.version).toBe('1.0.1');
    expect((await registry.version(m, v('1.0.0')))?.status).toBe('archived');
    expect((await registry.promote(m, v('1.0.1'), 'ab-router', 'again')).changed).toBe(false);

    const h = await registry.history(m);
    expect(h.map((r) => `${r.version}:${r.fromStatus ?? '-'}>${r.toStatus}`)).toEqual([
      '1.0.0:->registered', '1.0.0:registered>champion', '1.0.1:->registered', '1.0.1:registered>challenger', '1.0.0:champion>archived', '1.0.1:challenger>champion',
    ]);
    expect(h.at(-1)).toMatchObject({ actor: 'ab-router', reason: 'significant win', metrics: { accuracy: 0.96 } });
    expect(await registry.registration(m, v('1.0.1'))).toMatchObject({ version: '1.0.1', fromStatus: null, toStatus: 'registered' });
    expect((await registry.registration(m, v('1.0.0')))?.reason).toBe('bootstrap');
    expect(await registry.registration(m, v('9.9.9'))).toBeUndefined();
    await expect(pool.query('DELETE FROM registry_history WHERE model = $1', [m])).rejects.toThrow(/append-only/);
  });

  it('rolls back to the previous champion in one call and marks the bad one rolled_back, which an admin can promote again', async () => {
    const m = uniqueModel();
    await registry.registerChampion(newVersion(m, '1.0.0'));
    await registry.registerChallenger(newVersion(m, '1.1.0'));
    await registry.promote(m, v('1.1.0'), 'ops', 'looked good');
    const r = await registry.rollback(m, 'ops', 'errors up');
    expect(r.from).toBe('1.1.0');
    expect(r.champion.version).toBe('1.0.0');
    expect((await registry.version(m, v('1.1.0')))?.status).toBe('rolled_back');
    expect((await registry.history(m)).at(-2)).toMatchObject({ version: '1.1.0', fromStatus: 'champion', toStatus: 'rolled_back', reason: 'errors up' });
    // A rolled_back version is never a rollback target: nothing archived is left to go back to.
    await expect(registry.rollback(m, 'ops', 'again')).rejects.toBeInstanceOf(Conflict);
    const again = await registry.promote(m, v('1.1.0'), 'admin', 'the drop was a labelling incident');
    expect(again).toMatchObject({ previous: '1.0.0', changed: true });
    expect((await registry.champion(m))?.version).toBe('1.1.0');
    expect((await registry.version(m, v('1.0.0')))?.status).toBe('archived');
    // deprecated (rejected, superseded) stays final
    await registry.registerChallenger(newVersion(m, '1.2.0'));
    await registry.reject(m, v('1.2.0'), 'ab-router', 'worse');
    await expect(registry.promote(m, v('1.2.0'), 'ops', 'x')).rejects.toBeInstanceOf(Conflict);
  });

  it('promote and rollback with expectedChampion refuse when the champion changed meanwhile (compare-and-set)', async () => {
    const m = uniqueModel();
    await registry.registerChampion(newVersion(m, '1.0.0'));
    await registry.registerChampion(newVersion(m, '1.1.0'));
    await registry.register(newVersion(m, '1.2.0'));
    const stale = registry.rollback(m, 'ops', 'stale view', undefined, { expectedChampion: v('1.0.0') });
    await expect(stale).rejects.toBeInstanceOf(Conflict);
    await expect(stale).rejects.toThrow(/champion is 1\.1\.0, not 1\.0\.0/);
    await expect(registry.promote(m, v('1.2.0'), 'ops', 'stale', undefined, { expectedChampion: v('1.0.0') })).rejects.toBeInstanceOf(Conflict);
    expect((await registry.champion(m))?.version).toBe('1.1.0');

    // Two rollbacks that saw the same champion: exactly one applies.
    const both = await Promise.allSettled([
      registry.rollback(m, 'guard', 'accuracy', undefined, { expectedChampion: v('1.1.0') }),
      registry.rollback(m, 'ops', 'by hand', undefined, { expectedChampion: v('1.1.0') }),
    ]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(Conflict);
    expect((await registry.champion(m))?.version).toBe('1.0.0');
    expect((await registry.history(m)).filter((h) => h.toStatus === 'rolled_back')).toHaveLength(1);

    const ok = await registry.promote(m, v('1.2.0'), 'ops', 'fresh view', undefined, { expectedChampion: v('1.0.0') });
    expect(ok).toMatchObject({ previous: '1.0.0', changed: true });
  });

  it('serializes concurrent promotes: exactly one champion afterwards', async () => {
    const m = uniqueModel();
    await registry.registerChampion(newVersion(m, '1.0.0'));
    await registry.register(newVersion(m, '1.0.1'));
    await registry.register(newVersion(m, '1.0.2'));
    await Promise.all([registry.promote(m, v('1.0.1'), 'a', 'x'), registry.promote(m, v('1.0.2'), 'b', 'y')]);
    const statuses = (await registry.versions(m)).map((x) => x.status);
    expect(statuses.filter((s) => s === 'champion')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'archived')).toHaveLength(2);
  });

  it('rejects a challenger, supersedes an older one, and refuses a reused version with another artifact', async () => {
    const m = uniqueModel();
    await registry.registerChampion(newVersion(m, '1.0.0'));
    await registry.registerChallenger(newVersion(m, '1.0.1'));
    const second = await registry.registerChallenger(newVersion(m, '1.0.2'));
    expect(second.superseded).toBe('1.0.1');
    expect((await registry.version(m, v('1.0.1')))?.status).toBe('deprecated');
    expect((await registry.reject(m, v('1.0.2'), 'ab-router', 'worse')).changed).toBe(true);
    expect(await registry.challenger(m)).toBeUndefined();
    // same artifact again: idempotent; other artifact: conflict
    expect((await registry.register(newVersion(m, '1.0.2'))).status).toBe('deprecated');
    await expect(registry.register(newVersion(m, '1.0.2', { artifact: { ...ref(m, '1.0.2'), sha256: 'b'.repeat(64) } }))).rejects.toBeInstanceOf(Conflict);
    await expect(registry.promote(uniqueModel(), v('1.0.0'), 'x', 'y')).rejects.toBeInstanceOf(NotFound);
    expect((await registry.listModels()).find((x) => x.model === m)).toMatchObject({ champion: '1.0.0', challenger: undefined, versions: 3 });
  });
});

describe('MinioArtifactStore (real S3 API)', () => {
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
  const write = (model: ModelName, version: string, extra: { datasetSample?: DatasetSample } = {}) =>
    artifacts.writeVersion({
      ...extra,
      model, version: v(version), baseVersion: 'b0', labels: ['x'], metrics: { accuracy: 1 },
      adapter: { bytes: bytes('adapter'), manifest: { format: 'test' } },
      state: { 'state.json': bytes('{}'), 'base.bin': bytes('weights'), 'adapter.bin': bytes('ad'), 'fisher.bin': bytes('fi') },
      dataset: bytes('{"text":"t","label":"x"}\n'),
      baseOnnx: () => bytes('onnx'),
    });

  it('writes files then manifest, reads back verified, and detects a damaged file', async () => {
    const m = uniqueModel();
    const r = await write(m, '1.0.0');
    const served = await artifacts.readServing(r);
    expect(Buffer.from(served.adapterBytes).toString()).toBe('adapter');
    expect(Buffer.from(served.baseOnnx ?? new Uint8Array()).toString()).toBe('onnx');
    const state = await artifacts.readTrainingState(r);
    expect(Object.keys(state).sort()).toEqual(['adapter.bin', 'base.bin', 'fisher.bin', 'state.json']);
    expect(Buffer.from(await artifacts.readDataset(r)).toString()).toContain('"label":"x"');
    await store.put(`${r.prefix}adapter.bin`, 'tampered');
    await expect(artifacts.readServing(r)).rejects.toBeInstanceOf(CorruptArtifact);
  });

  it('records in the manifest how the dataset was sampled, and nothing for an unsampled one', async () => {
    const m = uniqueModel();
    const sample = { maxRows: 200_000, seed: 'flywheel:m:42', rowsAvailable: 250_000, rowsRead: 200_000 };
    expect((await artifacts.readManifest(await write(m, '1.0.0', { datasetSample: sample }))).dataset).toEqual(sample);
    expect((await artifacts.readManifest(await write(m, '1.0.1'))).dataset).toBeUndefined();
  });

  it('sweeps an unregistered upload once it is old enough, and keeps registered ones', async () => {
    const m = uniqueModel();
    const kept = await write(m, '1.0.0');
    await registry.register(newVersion(m, '1.0.0', { artifact: kept }));
    await write(m, '1.0.1'); // crashed before its registry row
    const isRegistered = (model: string, version: string) => registry.hasVersion(model, version);
    expect(await artifacts.sweepOrphans(isRegistered, { olderThanMs: 60_000, model: m })).toEqual([]);
    const removed = await artifacts.sweepOrphans(isRegistered, { olderThanMs: 60_000, model: m, now: new Date(Date.now() + 120_000) });
    expect(removed).toEqual([`models/${m}/1.0.1/`]);
    expect(await store.list(`models/${m}/1.0.1/`)).toEqual([]);
    expect(await store.exists(kept.manifestKey)).toBe(true);
  });
});
