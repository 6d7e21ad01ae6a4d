import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';

/** Runs npm with these arguments in `cwd`; rejects when npm fails. */
export type NpmRunner = (args: string[], cwd: string) => Promise<void>;

const execNpm: NpmRunner = async (args, cwd) => {
  await promisify(execFile)('npm', args, { cwd, maxBuffer: 16 << 20 });
};
const Manifest = z.object({ name: z.string(), version: z.string() });

async function installedVersion(packageDir: string): Promise<string | undefined> {
  try {
    return Manifest.parse(JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8'))).version;
  } catch {
    return undefined;
  }
}

/**
 * Installs `name@version` into its own folder under `cacheDir` with npm (not into the workspace: it
 * is large and only this tool needs it) unless that version is already there; returns the package folder.
 */
export async function installOnDemand(cacheDir: string, name: string, version: string, log: (line: string) => void, npm: NpmRunner = execNpm): Promise<string> {
  const prefix = join(cacheDir, `${name}@${version}`);
  const packageDir = join(prefix, 'node_modules', name);
  if ((await installedVersion(packageDir)) === version) return packageDir;
  await mkdir(prefix, { recursive: true });
  // an own package.json, so npm installs here and not into a workspace above
  await writeFile(join(prefix, 'package.json'), JSON.stringify({ private: true, description: `on-demand cache of ${name}` }));
  log(`installing ${name}@${version} into ${prefix} (about 110 MB download) …`);
  try {
    await npm(['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--ignore-scripts', '--legacy-peer-deps', '--no-audit', '--no-fund', `${name}@${version}`], prefix);
  } catch (cause) {
    throw new Error(`npm could not install ${name}@${version} into ${prefix} (${(cause as Error).message.split('\n')[0]}); check the registry is reachable and retry, or install it there yourself`, { cause });
  }
  const installed = await installedVersion(packageDir);
  if (installed !== version) throw new Error(`npm finished but ${packageDir} holds ${installed ?? 'no package'}, not ${version}; delete ${prefix} and retry`);
  return packageDir;
}
