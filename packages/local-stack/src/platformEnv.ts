import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Parses KEY=value lines (the format scripts/platform.sh writes); blank lines and # comments are skipped. */
export const parsePlatformEnv = (text: string): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
};

/** The repo root: the nearest folder above `from` (default: this package) that holds pnpm-workspace.yaml. */
export const findRepoRoot = (from: string = dirname(fileURLToPath(import.meta.url))): string => {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no pnpm-workspace.yaml above ${from}; pass { root } to startLocalStack`);
    dir = up;
  }
};

/** Reads <root>/.flywheel/platform.env, or says how to create it. */
export const readPlatformEnv = (root: string): Record<string, string> => {
  const file = join(root, '.flywheel', 'platform.env');
  if (!existsSync(file)) throw new Error(`${file} does not exist: start the local platform first (bash scripts/platform.sh up)`);
  return parsePlatformEnv(readFileSync(file, 'utf8'));
};
