import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DependencyDown } from '@flywheel/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ServiceRefused } from '../cliErrors.js';
import type { CallOptions, ServiceCall } from '../serviceClient.js';
import { FEEDBACK_BATCH } from './labelledFile.js';
import { watchFolder } from './watchFolder.js';

const fmt = (file: string) => ({ format: file.endsWith('.jsonl') ? ('jsonl' as const) : ('csv' as const), header: true, textColumn: 'text', labelColumn: 'label' });

/** A fake feedback-ingest that records every request and answers like the real one. */
const recorder = (fail?: (opts: CallOptions) => Error | undefined) => {
  const calls: { path: string; key: string | undefined; items: unknown[] }[] = [];
  const call: ServiceCall = async (_m, path, opts = {}) => {
    const err = fail?.(opts);
    if (err) throw err;
    const items = (opts.body as { items: unknown[] }).items;
    calls.push({ path, key: opts.headers?.['idempotency-key'], items });
    return { accepted: items.length, items: [] };
  };
  return { call, calls };
};

describe('watchFolder --once', () => {
  let dir: string;
  const lines: string[] = [];
  const run = (feedback: ServiceCall) =>
    watchFolder({ feedback, print: (l) => lines.push(l), warn: (l) => lines.push(l), actor: 'cli:test' }, { dir, model: 'shop', formatFor: fmt, once: true, pollMs: 10 });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-watch-'));
    lines.length = 0;
  });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it('sends a good file, moves it to done/, and a bad one to failed/ with its reason', async () => {
    await writeFile(join(dir, 'good.csv'), 'text,label\nhello,greeting\nbye,farewell\n');
    await writeFile(join(dir, 'bad.jsonl'), '{"text":"x","label":"y"}\n{"text":"no label"}\n');
    await writeFile(join(dir, 'notes.txt'), 'not a data file');
    const f = recorder();
    expect(await run(f.call)).toEqual({ sent: 1, failed: 1, left: [] });
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]!.path).toBe('/v1/feedback/batch');
    expect(f.calls[0]!.key).toMatch(/^flywheel-watch:shop:[0-9a-f]{64}:0$/);
    expect(f.calls[0]!.items).toEqual([
      { model: 'shop', kind: 'misclassification', text: 'hello', correctLabel: 'greeting', reporter: 'cli:test' },
      { model: 'shop', kind: 'misclassification', text: 'bye', correctLabel: 'farewell', reporter: 'cli:test' },
    ]);
    expect((await readdir(dir)).sort()).toEqual(['.flywheel-watch', 'done', 'failed', 'notes.txt']);
    expect(await readdir(join(dir, 'done'))).toEqual(['good.csv']);
    expect((await readdir(join(dir, 'failed'))).sort()).toEqual(['bad.jsonl', 'bad.jsonl.reason.txt']);
    expect(await readFile(join(dir, 'failed', 'bad.jsonl.reason.txt'), 'utf8')).toContain('line 2: no label');
  });

  it('never sends the same content twice, even copied in under another name', async () => {
    await writeFile(join(dir, 'a.csv'), 'text,label\nhello,greeting\n');
    const f = recorder();
    await run(f.call);
    await copyFile(join(dir, 'done', 'a.csv'), join(dir, 'a-again.csv'));
    await copyFile(join(dir, 'done', 'a.csv'), join(dir, 'a.csv'));
    expect(await run(f.call)).toEqual({ sent: 2, failed: 0, left: [] });
    expect(f.calls).toHaveLength(1);
    expect((await readdir(join(dir, 'done'))).sort()).toEqual(['a-again.csv', 'a.1.csv', 'a.csv']);
    expect(await run(f.call)).toEqual({ sent: 0, failed: 0, left: [] });
  });

  it(`splits a large file into requests of at most ${FEEDBACK_BATCH} rows with one key per chunk`, async () => {
    const n = FEEDBACK_BATCH + 5;
    await writeFile(join(dir, 'big.csv'), `text,label\n${Array.from({ length: n }, (_, i) => `t${i},l${i % 3}`).join('\n')}\n`);
    const f = recorder();
    await run(f.call);
    expect(f.calls.map((c) => c.items.length)).toEqual([FEEDBACK_BATCH, 5]);
    expect(f.calls[0]!.key).not.toBe(f.calls[1]!.key);
  });

  it("moves a file the service refuses to failed/ with the service's message", async () => {
    await writeFile(join(dir, 'a.csv'), 'text,label\nhello,greeting\n');
    const f = recorder(() => new ServiceRefused('feedback-ingest', 404, 'unknown_model', 'feedback-ingest refused POST /v1/feedback/batch (404): unknown model(s): shop'));
    expect(await run(f.call)).toEqual({ sent: 0, failed: 1, left: [] });
    expect(await readFile(join(dir, 'failed', 'a.csv.reason.txt'), 'utf8')).toContain('unknown model(s): shop');
  });

  it('leaves the file in place when the service is down, and sends it on a later run with the same key', async () => {
    await writeFile(join(dir, 'a.csv'), 'text,label\nhello,greeting\n');
    const down = recorder(() => new DependencyDown('feedback-ingest did not answer'));
    expect(await run(down.call)).toEqual({ sent: 0, failed: 0, left: ['a.csv'] });
    expect(await readdir(dir)).toContain('a.csv');
    const up = recorder();
    expect(await run(up.call)).toEqual({ sent: 1, failed: 0, left: [] });
    expect(up.calls).toHaveLength(1);
  });
});
