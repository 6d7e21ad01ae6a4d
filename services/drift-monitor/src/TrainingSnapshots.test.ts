import { describe, expect, it } from 'vitest';
import type { ArtifactRef, ModelName, ModelVersion } from '@flywheel/contracts';
import { parseSnapshot, RegistryTrainingSnapshots, type DatasetReads, type RegistryReads } from './TrainingSnapshots.js';

const jsonl = (rows: unknown[]): Uint8Array => new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe('parseSnapshot', () => {
  it('reads the text and label of each learning Example and ignores the other fields', () => {
    expect(parseSnapshot(jsonl([{ text: 'a b', label: 'x', source: 'original', group: 'g' }, { text: 'c', label: 'y' }]))).toEqual([
      { text: 'a b', label: 'x' },
      { text: 'c', label: 'y' },
    ]);
  });

  it('names the bad line', () => {
    expect(() => parseSnapshot(new TextEncoder().encode('{"text":"a","label":"x"}\n{"text":"b"}\n'))).toThrow(/line 2/);
    expect(() => parseSnapshot(new TextEncoder().encode('not json\n'))).toThrow(/line 1 is not JSON/);
  });
});

describe('RegistryTrainingSnapshots', () => {
  const artifact: ArtifactRef = { bucket: 'b', prefix: 'models/m/1.1.0/', manifestKey: 'models/m/1.1.0/manifest.json', sha256: 'a'.repeat(64) };
  const registry: RegistryReads = {
    listModels: async () => [
      { model: 'm' as ModelName, champion: '1.1.0' as ModelVersion },
      { model: 'n' as ModelName, champion: undefined },
    ],
    champion: async (model) => (model === 'm' ? { version: '1.1.0' as ModelVersion } : undefined),
    version: async (model, version) => (model === 'm' && version === '1.1.0' ? { artifact } : undefined),
  };
  const read: ArtifactRef[] = [];
  const artifacts: DatasetReads = { readDataset: async (ref) => (read.push(ref), jsonl([{ text: 't', label: 'l' }])) };
  const snapshots = new RegistryTrainingSnapshots(registry, artifacts);

  it('lists only models that have a champion, and reads the snapshot of the version asked for', async () => {
    expect(await snapshots.champions()).toEqual([{ model: 'm', version: '1.1.0' }]);
    expect(await snapshots.champion('m')).toBe('1.1.0');
    expect(await snapshots.champion('n')).toBeUndefined();
    expect(await snapshots.rows('m', '1.1.0')).toEqual([{ text: 't', label: 'l' }]);
    expect(read).toEqual([artifact]);
    expect(await snapshots.rows('m', '9.9.9')).toBeUndefined();
  });
});
