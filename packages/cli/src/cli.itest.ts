// The built CLI (`node packages/cli/dist/main.js`) against the real platform: its own PostgreSQL
// schema, a unique model name (so its S3 prefix models/<model>/ is its own) and a real
// feedback-ingest started by @flywheel/local-stack. Build first: pnpm turbo run build --filter=@flywheel/cli...
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { findRepoRoot, startLocalStack, type LocalStack } from '@flywheel/local-stack';
import { MinioObjectStore } from '@flywheel/objectstore';
import { createPool } from '@flywheel/postgres';

const root = findRepoRoot();
const entry = join(root, 'packages', 'cli', 'dist', 'main.js');
const run = randomUUID().slice(0, 8);
const schema = `cli_it_${run}`;
const model = `cli-it-${run}`;
let stack: LocalStack;
let work: string;

interface Result { code: number | null; stdout: string; stderr: string }

/** Runs the CLI with `env` on top of this process's environment (minus platform variables, so only what the test sets counts). */
const cli = (args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Result> =>
  new Promise((resolve, reject) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(POSTGRES_URL|KAFKA_BROKERS|S3_|SERVING_URL|FEEDBACK_URL|ABROUTER_URL|ADMIN_TOKEN|API_KEY)/.test(k)));
    const child = spawn(process.execPath, [...nodeArgs, entry, ...args], { cwd: root, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
const platform = (): Record<string, string> => ({ ...stack.platformEnv, FEEDBACK_URL: stack.url('feedback-ingest'), ADMIN_TOKEN: stack.adminToken });
const stackTrace = /^\s+at\s/m;
const pendingFeedback = async (): Promise<number> => z.object({ pendingFeedback: z.number() }).parse(await stack.api.ingest.retraining(model)).pendingFeedback;

beforeAll(async () => {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build it first (pnpm turbo run build --filter=@flywheel/cli...)`);
  if (!existsSync(join(root, 'services', 'feedback-ingest', 'dist', 'main.js'))) throw new Error('services/feedback-ingest is not built: pnpm turbo run build --filter=@flywheel/svc-feedback-ingest...');
  work = await mkdtemp(join(tmpdir(), 'cli-itest-'));
  stack = await startLocalStack({ services: ['feedback-ingest'], runId: `cli${run}`, pgSchema: schema, logDir: join(work, 'logs') });
}, 120_000);

afterAll(async () => {
  await stack?.stopAll();
  if (stack) {
    const env = stack.platformEnv;
    const store = await MinioObjectStore.fromSettings({ endpoint: env.S3_ENDPOINT!, accessKey: env.S3_ACCESS_KEY!, secretKey: env.S3_SECRET_KEY!, bucket: env.S3_BUCKET ?? 'flywheel' });
    await store.remove(await store.list(`models/${model}/`));
    const admin = createPool(env.POSTGRES_URL!.replace(/\?.*$/, ''), { max: 1 });
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  if (work) await rm(work, { recursive: true, force: true });
}, 60_000);

describe('flywheel CLI (built, on the real platform)', () => {
  it('a missing --env-file is a configuration error: exit 2, one clear line, no stack trace', async () => {
    const missing = join(work, 'no-such.env');
    // `node --` keeps node itself from reading --env-file after the script name (nodejs/node#54232).
    const r = await cli(['--env-file', missing, 'versions', model], {}, ['--']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`--env-file ${missing} cannot be read (ENOENT)`);
    expect(r.stderr).not.toMatch(stackTrace);
    // Without `--`, Node 20+ may stop first with its own one-line message; still no stack trace either way.
    const plain = await cli(['--env-file', missing, 'versions', model]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toContain(missing);
    expect(plain.stderr).not.toMatch(stackTrace);
  });

  it('a missing variable is a configuration error naming it (exit 2)', async () => {
    const r = await cli(['versions', model]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('POSTGRES_URL is not set');
    expect(r.stderr).not.toMatch(stackTrace);
  });

  it('an unknown model exits 1 with "no model named …" for every command that names one', async () => {
    const cases = [['versions', 'nosuch'], ['history', 'nosuch'], ['info', 'nosuch'], ['promote', 'nosuch', '1.0.0', '--reason', 'x'], ['rollback', 'nosuch', '--reason', 'x'],
      ['export', 'nosuch', '1.0.0', '--out', join(work, 'x')], ['retrain', 'nosuch', '--reason', 'x']];
    // Seven node processes: run together, and with room for a busy machine (each is about 1 s alone).
    const results = await Promise.all(cases.map(async (args) => ({ args, r: await cli([...args, '--no-publish'], { ...platform(), ADMIN_TOKEN: stack.adminToken }) })));
    for (const { args, r } of results) {
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('no model named nosuch');
      expect(r.stderr).not.toMatch(stackTrace);
    }
  }, 120_000);

  it('bootstraps a tiny CSV and lists the version', async () => {
    const labels = ['billing', 'shipping', 'account'];
    const words: Record<string, string[]> = { billing: ['invoice', 'refund', 'charge', 'payment'], shipping: ['parcel', 'courier', 'delivery', 'tracking'], account: ['password', 'login', 'email', 'profile'] };
    const rows = Array.from({ length: 60 }, (_, i) => {
      const label = labels[i % 3]!;
      const w = words[label]!;
      return `${w[i % 4]} ${w[(i + 1) % 4]} ${w[(i + 2) % 4]} ticket ${i},${label}`;
    });
    await writeFile(join(work, 'tiny.csv'), `text,label\n${rows.join('\n')}\n`);
    const boot = await cli(['bootstrap', '--model', model, '--data', join(work, 'tiny.csv'), '--epochs', '2', '--no-publish'], platform());
    expect(boot.code, boot.stderr).toBe(0);
    expect(boot.stdout).toContain(`${model}@1.0.0 is champion`);
    const versions = await cli(['versions', model], platform());
    expect(versions.code, versions.stderr).toBe(0);
    expect(versions.stdout).toMatch(/1\.0\.0\s+champion/);
  }, 120_000);

  it('watch --once sends a good file to feedback-ingest (→ done/), refuses a bad one (→ failed/ with a reason) and never sends twice', async () => {
    const dir = join(work, 'inbox');
    await mkdir(dir);
    await writeFile(join(dir, 'good.csv'), 'text,label\nwhere is my parcel,shipping\nI was charged twice,billing\ncannot log in,account\n');
    await writeFile(join(dir, 'bad.csv'), 'text,label\nfine row,billing\nrow without a label,\n');
    const before = await pendingFeedback();

    const first = await cli(['watch', dir, '--model', model, '--once'], platform());
    expect(first.code, first.stderr).toBe(1); // one file failed
    expect(first.stdout).toContain('sent good.csv: 3 labelled rows');
    expect(await readdir(join(dir, 'done'))).toEqual(['good.csv']);
    expect((await readdir(join(dir, 'failed'))).sort()).toEqual(['bad.csv', 'bad.csv.reason.txt']);
    expect(await readFile(join(dir, 'failed', 'bad.csv.reason.txt'), 'utf8')).toContain('row 3: label must not be empty');
    expect(await pendingFeedback()).toBe(before + 3);

    // The same content again under another name, and a run with nothing new: nothing is sent.
    await copyFile(join(dir, 'done', 'good.csv'), join(dir, 'good-copy.csv'));
    const second = await cli(['watch', dir, '--model', model, '--once'], platform());
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('skipped good-copy.csv');
    const third = await cli(['watch', dir, '--model', model, '--once'], platform());
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).toContain('watch: 0 sent, 0 failed');
    expect(await pendingFeedback()).toBe(before + 3);

    // info reads the registry and feedback-ingest's retraining state.
    const info = await cli(['info', model], platform());
    expect(info.code, info.stderr).toBe(0);
    expect(info.stdout).toMatch(/champion\s+1\.0\.0/);
    expect(info.stdout, 'how the champion was made, from its registration').toMatch(/trained\s+bootstrap from \d+ rows \(by /);
    expect(info.stdout).toMatch(/retraining\s+3\/\d+ corrections pending/);
  }, 60_000);
});
