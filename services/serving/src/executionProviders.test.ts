import { describe, expect, it } from 'vitest';
import { withExecutionProviders } from './executionProviders.js';

describe('withExecutionProviders', () => {
  it('opens on the configured providers when they work', async () => {
    const tried: string[][] = [];
    const warnings: string[] = [];
    const out = await withExecutionProviders(['cuda', 'cpu'], async (p) => (tried.push(p), 'session'), (m) => warnings.push(m));
    expect(out).toBe('session');
    expect(tried).toEqual([['cuda', 'cpu']]);
    expect(warnings).toEqual([]);
  });

  it('falls back to the CPU with a warning when a GPU provider is not usable here', async () => {
    const tried: string[][] = [];
    const warnings: string[] = [];
    const out = await withExecutionProviders(['cuda'], async (p) => {
      tried.push(p);
      if (p.includes('cuda')) throw new Error('libcublasLt.so.12: cannot open shared object file');
      return 'cpu session';
    }, (m) => warnings.push(m));
    expect(out).toBe('cpu session');
    expect(tried).toEqual([['cuda'], ['cpu']]);
    expect(warnings).toEqual(['onnxruntime execution providers [cuda] are not usable here; using cpu']);
  });

  it('does not retry a CPU-only setting: its error is the model\'s', async () => {
    let calls = 0;
    await expect(withExecutionProviders(['cpu'], async () => {
      calls++;
      throw new Error('bad model');
    }, () => {})).rejects.toThrow('bad model');
    expect(calls).toBe(1);
  });
});
