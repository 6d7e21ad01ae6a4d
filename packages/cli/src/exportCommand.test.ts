import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ModelName, ModelVersion } from '@flywheel/contracts';
import { exportAdapter, exportBaseOnnx } from '@flywheel/learning';
import { trainBase } from '@flywheel/learning/train';
import type { VersionRecord } from '@flywheel/registry';
import { NotFound } from '@flywheel/runtime';
import { UsageError } from './cliErrors.js';
import { exportCommand, exportTarget, type ExportDeps } from './exportCommand.js';

describe('flywheel export MODEL[@VERSION] DIR', async () => {
  const words: Record<string, string[]> = { billing: ['invoice', 'refund', 'charge'], shipping: ['parcel', 'courier', 'delivery'] };
  const examples = Object.entries(words).flatMap(([label, ws]) => Array.from({ length: 20 }, (_, i) => ({ text: `${ws[i % 3]} ${ws[(i + 1) % 3]} note${i}`, label, group: `${label}${i}` })));
  const { state } = await trainBase(examples, { model: { features: { buckets: 512, maxFeatures: 32 }, embeddingDim: 8, hiddenUnits: [8] }, epochs: 2, seed: 3 });
  const adapter = exportAdapter(state, { version: 'tickets@1.0.0' });
  const baseOnnx = exportBaseOnnx(state);
  const record = (version: string, status: VersionRecord['status']) => ({ version: ModelVersion.parse(version), status, artifact: { bucket: 'b', prefix: `models/tickets/${version}/`, manifestKey: 'm', sha256: 'x' } }) as VersionRecord;
  const work = await mkdtemp(join(tmpdir(), 'cli-export-'));
  afterAll(() => rm(work, { recursive: true, force: true }));

  const fake = (champion: VersionRecord | undefined) => {
    const asked: string[] = [];
    const lines: string[] = [];
    const deps: ExportDeps = {
      registry: {
        listModels: async () => [{ model: ModelName.parse('tickets') }] as Awaited<ReturnType<ExportDeps['registry']['listModels']>>,
        champion: async () => champion,
        version: async (_m, v) => (v === '1.0.0' ? record('1.0.0', 'archived') : undefined),
      },
      artifacts: async () => ({
        readServing: async (ref) => {
          asked.push(ref.prefix);
          return { manifest: {} as never, baseOnnx, adapterBytes: adapter.bytes, adapterManifest: adapter.manifest };
        },
      }),
      print: (l) => void lines.push(l),
    };
    return { deps, asked, lines };
  };

  it('parses MODEL and MODEL@VERSION', () => {
    expect(exportTarget('tickets')).toEqual({ model: 'tickets', version: undefined });
    expect(exportTarget('tickets@1.2.3')).toEqual({ model: 'tickets', version: '1.2.3' });
    expect(() => exportTarget('tickets@latest')).toThrow(UsageError);
    expect(() => exportTarget('tickets@1.0.0@2')).toThrow(UsageError);
  });

  it('exports the champion when no version is named, into a folder that works on its own', async () => {
    const f = fake(record('1.0.1', 'champion'));
    const dir = join(work, 'champion');
    await exportCommand(f.deps, exportTarget('tickets'), dir);
    expect(f.asked).toEqual(['models/tickets/1.0.1/']);
    expect((await readdir(dir)).sort()).toEqual(['README.md', 'export.json', 'featurize.mjs', 'featurizer.json', 'labels.json', 'model.onnx', 'predict.mjs']);
    expect(JSON.parse(await readFile(join(dir, 'labels.json'), 'utf8'))).toEqual(state.labels);
    expect(JSON.parse(await readFile(join(dir, 'export.json'), 'utf8'))).toMatchObject({ format: 'flywheel-export/v1', model: 'tickets', version: 'tickets@1.0.0' });
    expect(f.lines.join('\n')).toContain('exported tickets@1.0.1 (champion');
  });

  it('exports a named version, and refuses a version-like DIR, a non-empty DIR, an unknown version and no champion', async () => {
    const f = fake(undefined);
    await exportCommand(f.deps, exportTarget('tickets@1.0.0'), join(work, 'named'));
    expect(f.asked).toEqual(['models/tickets/1.0.0/']);
    await expect(exportCommand(f.deps, exportTarget('tickets'), '1.0.0')).rejects.toThrow(/tickets@1\.0\.0 DIR/);
    const full = join(work, 'full');
    await rm(full, { recursive: true, force: true });
    await mkdir(full);
    await writeFile(join(full, 'x.txt'), 'x');
    await expect(exportCommand(f.deps, exportTarget('tickets'), full)).rejects.toThrow(UsageError);
    await expect(exportCommand(f.deps, exportTarget('tickets@9.9.9'), join(work, 'none'))).rejects.toThrow(NotFound);
    await expect(exportCommand(f.deps, exportTarget('tickets'), join(work, 'none'))).rejects.toThrow(/no champion/);
    await expect(exportCommand(f.deps, exportTarget('nosuch'), join(work, 'none'))).rejects.toThrow(/no model named nosuch/);
  });
});
