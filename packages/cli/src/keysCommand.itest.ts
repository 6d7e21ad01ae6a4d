// `flywheel keys create|list|revoke` on the real PostgreSQL, in this file's own schema: the module
// directly, and once through the built CLI (dispatch, auth migrations, exit codes).
// The last test needs the build: pnpm turbo run build --filter=@flywheel/cli...
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, migrateAuth } from '@flywheel/auth';
import { findRepoRoot } from '@flywheel/local-stack';
import { withSearchPath } from '@flywheel/postgres';
import { env, isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { UsageError } from './cliErrors.js';
import { keysCommand } from './keysCommand.js';

let p: IsolatedPlatform;
const out: string[] = [];
const deps = () => ({ pool: p.pool, print: (l: string) => out.push(l), actor: 'cli:test' });

beforeAll(async () => {
  p = await isolatedPlatform('cli-keys');
  await migrateAuth(p.pool);
});
afterAll(async () => {
  await p?.drop();
});

describe('keys', () => {
  it('create prints the key once as its last line; it authenticates until revoked; list shows the key id, never the key', async () => {
    out.length = 0;
    await keysCommand(deps(), ['create', 'shop'], { scopes: 'feedback,predict', trust: 'trusted' });
    const key = out.at(-1)!;
    expect(key).toMatch(/^fwk_[A-Za-z0-9_-]{43}$/);
    expect(out[0]).toBe(`client shop: scopes predict,feedback, trust trusted, key id ${key.slice(0, 12)}`);
    const keyring = await createKeyring({ pool: p.pool, refreshMs: 60_000 });
    expect(keyring.authenticate(key)).toMatchObject({ name: 'shop', trust: 'trusted' });

    out.length = 0;
    await keysCommand(deps(), ['list'], {});
    expect(out.join('\n')).toContain(key.slice(0, 12));
    expect(out.join('\n')).not.toContain(key);
    expect(out.join('\n')).toMatch(/shop\s+predict,feedback\s+trusted\s+fwk_\S+\s+active\s+\S+\s+cli:test/);

    await keysCommand(deps(), ['revoke', 'shop'], {});
    await keyring.refresh();
    keyring.close();
    expect(keyring.authenticate(key)).toBeUndefined();
    out.length = 0;
    await keysCommand(deps(), ['list'], {});
    expect(out.join('\n')).toMatch(/shop .* revoked \d{4}-/);
  });

  it('refuses bad names, scopes, trust levels and subcommands as usage errors', async () => {
    const usage = (args: string[], o: { scopes?: string; trust?: string }) => expect(keysCommand(deps(), args, o)).rejects.toBeInstanceOf(UsageError);
    await usage(['create', 'Bad Name'], { scopes: 'predict' });
    await usage(['create', 'admin'], { scopes: 'predict' });
    await usage(['create', 'ok'], {});
    await usage(['create', 'ok'], { scopes: 'predict,root' });
    await usage(['create', 'ok'], { scopes: 'predict', trust: 'root' });
    await usage(['rotate', 'ok'], {});
    await usage([], {});
  });

  it('works end to end through the built CLI: create, list, revoke and a second revoke refused (exit 1)', async () => {
    const root = findRepoRoot();
    const entry = join(root, 'packages', 'cli', 'dist', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: build it first (pnpm turbo run build --filter=@flywheel/cli...)`);
    const cli = (args: string[]) => new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [entry, ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', POSTGRES_URL: withSearchPath(env('POSTGRES_URL'), p.schema), USER: 'tester' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const created = await cli(['keys', 'create', 'bench-user', '--scopes', 'predict']);
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^fwk_/);
    const listed = await cli(['keys', 'list']);
    expect(listed.stdout).toMatch(/bench-user\s+predict\s+standard\s+fwk_\S+\s+active\s+\S+\s+cli:tester/);
    expect((await cli(['keys', 'revoke', 'bench-user'])).code).toBe(0);
    const again = await cli(['keys', 'revoke', 'bench-user']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('no active key');
    expect((await cli(['keys', 'create', 'x', '--scopes', 'nope'])).code).toBe(2);
  });
});
