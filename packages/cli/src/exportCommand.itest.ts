// `flywheel export` through the built CLI on the real PostgreSQL and S3 (this file's own schema and
// bucket): a bootstrapped champion becomes a self-contained folder; the older --out form still copies
// the raw artifacts. Needs the build: pnpm turbo run build --filter=@flywheel/cli...
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxBase } from '@flywheel/learning';
import { findRepoRoot } from '@flywheel/local-stack';
import { withSearchPath } from '@flywheel/postgres';
import { MinioArtifactStore, migrateRegistry, PgRegistry } from '@flywheel/registry';
import { ModelName } from '@flywheel/contracts';
import { env, isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { bootstrapModel } from './bootstrapModel.js';

const root = findRepoRoot();
const entry = join(root, 'packages', 'cli', 'dist', 'main.js');
const model = 'export-it';
let p: IsolatedPlatform;
let work: string;

const cli = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
  const s3 = p.s3;
  const childEnv = { PATH: process.env.PATH ?? '', USER: 'tester', POSTGRES_URL: withSearchPath(env('POSTGRES_URL'), p.schema), S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: s3.bucket };
  const child = spawn(process.execPath, [entry, ...args], { cwd: root, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.on('error', reject);
  child.on('close', (code) => resolve({ code, stdout, stderr }));
});

beforeAll(async () => {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build it first (pnpm turbo run build --filter=@flywheel/cli...)`);
  p = await isolatedPlatform('cli-export');
  work = await mkdtemp(join(tmpdir(), 'cli-export-it-'));
  await migrateRegistry(p.pool);
  const words: Record<string, string[]> = { billing: ['invoice', 'refund', 'charge', 'payment'], shipping: ['parcel', 'courier', 'delivery', 'tracking'], account: ['password', 'login', 'email', 'profile'] };
  const examples = Object.entries(words).flatMap(([label, w]) => Array.from({ length: 20 }, (_, i) => ({ text: `${w[i % 4]} ${w[(i + 1) % 4]} ticket ${i}`, label })));
  await bootstrapModel({ registry: new PgRegistry(p.pool), artifacts: new MinioArtifactStore(await p.objectStore()) }, { model, examples, actor: 'test', trainOptions: { epochs: 2 } });
}, 120_000);

afterAll(async () => {
  await p?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('flywheel export (built CLI, real stores)', () => {
  it('MODEL DIR writes the champion as a self-contained folder whose files match export.json', async () => {
    const dir = join(work, 'champion');
    const r = await cli(['export', model, dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`exported ${model}@1.0.0 (champion`);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'export.json', 'featurize.mjs', 'featurizer.json', 'labels.json', 'model.onnx', 'predict.mjs']);
    const manifest = JSON.parse(await readFile(join(dir, 'export.json'), 'utf8')) as { files: Record<string, string>; model: string };
    expect(manifest.model).toBe(model);
    for (const [name, sha] of Object.entries(manifest.files)) expect(createHash('sha256').update(await readFile(join(dir, name))).digest('hex'), name).toBe(sha);
    expect((await readFile(join(dir, 'featurize.mjs'), 'utf8'))).not.toContain('__name');

    // As a user would run it after `npm install onnxruntime-node`: predict.mjs agrees with serving's path.
    await mkdir(join(dir, 'node_modules'));
    await symlink(join(root, 'packages', 'learning', 'node_modules', 'onnxruntime-node'), join(dir, 'node_modules', 'onnxruntime-node'));
    const texts = ['invoice refund please', 'where is my parcel courier', 'forgot password login', 'something else entirely'];
    const predicted = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [join(dir, 'predict.mjs'), ...texts], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`predict.mjs exited ${code}`))));
    });
    const rows = predicted.trim().split('\n').map((l) => JSON.parse(l) as { label: string; confidence: number });
    const registry = new PgRegistry(p.pool);
    const champion = await registry.champion(ModelName.parse(model));
    const served = await new MinioArtifactStore(await p.objectStore()).readServing(champion!.artifact);
    const base = await createOnnxBase(served.baseOnnx!);
    const want = await base.createClassifier(served.adapterBytes, served.adapterManifest).predict(texts);
    await base.release();
    expect(rows.map((r) => r.label)).toEqual(want.map((w) => w.label));
    rows.forEach((r, i) => expect(Math.abs(r.confidence - want[i]!.confidence)).toBeLessThanOrEqual(1e-5));
  });

  it('MODEL@VERSION DIR, the older MODEL VERSION --out DIR, and a missing DIR (exit 2)', async () => {
    const named = await cli(['export', `${model}@1.0.0`, join(work, 'named')]);
    expect(named.code, named.stderr).toBe(0);
    const raw = await cli(['export', model, '1.0.0', '--out', join(work, 'raw')]);
    expect(raw.code, raw.stderr).toBe(0);
    expect(await readdir(join(work, 'raw'))).toEqual(expect.arrayContaining(['adapter.bin', 'manifest.json', 'base']));
    const versionAsDir = await cli(['export', model, '1.0.0']);
    expect(versionAsDir.code).toBe(2);
    expect(versionAsDir.stderr).toContain(`${model}@1.0.0 DIR`);
    expect((await cli(['export', `${model}@2.0.0`, join(work, 'none')])).code).toBe(1);
  });
});
