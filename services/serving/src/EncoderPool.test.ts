import { describe, expect, it } from 'vitest';
import type { TextEncoder } from '@flywheel/learning';
import { EncoderPool } from './EncoderPool.js';
import type { EncoderSource } from './ports.js';

/** A fake encoder: embeds a text as [its length, the run's size], counts opens, runs and releases. */
function fakes() {
  const opened: string[] = [];
  const released: string[] = [];
  const runs: number[] = [];
  const open = async (source: EncoderSource): Promise<TextEncoder> => {
    await source.files();
    opened.push(source.hash);
    return {
      hash: source.hash, dim: 2, maxLength: 8, pooling: 'mean',
      tokenize: () => ({ ids: [], typeIds: [] }),
      embed: async (texts) => {
        runs.push(texts.length);
        return texts.map((t) => Float32Array.from([t.length, texts.length]));
      },
      release: async () => void released.push(source.hash),
    };
  };
  const source = (hash: string): EncoderSource => ({ hash, files: async () => ({}) });
  return { opened, released, runs, open, source };
}

describe('EncoderPool', () => {
  it('opens one session per encoder hash for all its users and releases it with the last one', async () => {
    const f = fakes();
    const pool = new EncoderPool(f.open, { maxWaitMs: 1, maxItems: 64 });
    const [a, b] = await Promise.all([pool.acquire(f.source('h1')), pool.acquire(f.source('h1'))]);
    await pool.acquire(f.source('h2'));
    expect(f.opened).toEqual(['h1', 'h2']);
    expect(pool.size).toBe(2);
    // two versions on one encoder: their concurrent requests share one encoder run
    const [ra, rb] = await Promise.all([a.embed(['abc']), b.embed(['hello', 'x'])]);
    expect(f.runs).toEqual([3]);
    expect(Array.from(ra[0]!)).toEqual([3, 3]);
    expect(rb.map((r) => Array.from(r))).toEqual([[5, 3], [1, 3]]);
    await pool.release('h1');
    expect(f.released).toEqual([]);
    await pool.release('h1');
    expect(f.released).toEqual(['h1']);
    await pool.closeAll();
    expect(f.released).toEqual(['h1', 'h2']);
    expect(pool.size).toBe(0);
  });

  it('forgets an encoder that failed to open, so the next acquire tries again', async () => {
    const f = fakes();
    let fail = true;
    const pool = new EncoderPool(async (s) => {
      if (fail) throw new Error('broken model.onnx');
      return f.open(s);
    }, { maxWaitMs: 1, maxItems: 1 });
    await expect(pool.acquire(f.source('h1'))).rejects.toThrow('broken model.onnx');
    expect(pool.size).toBe(0);
    fail = false;
    await expect(pool.acquire(f.source('h1'))).resolves.toMatchObject({ hash: 'h1', dim: 2 });
  });
});
