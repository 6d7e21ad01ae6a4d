import { parseEnvFile } from '@flywheel/runtime';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';


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
  return parseEnvFile(readFileSync(file, 'utf8'));
};
