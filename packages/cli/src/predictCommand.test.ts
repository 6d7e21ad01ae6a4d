import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv } from '@flywheel/learning';
import { NotFound } from '@flywheel/runtime';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BadInput, ServiceRefused } from './cliErrors.js';
import { PREDICT_BATCH, predictCommands, readTexts } from './predictCommand.js';
import type { ServiceCall } from './serviceClient.js';

const csv = { format: 'csv' as const, header: true, textColumn: 'text', labelColumn: 'label' };

describe('readTexts', () => {
  it('reads the text column of CSV and JSONL', () => {
    expect(readTexts('id,text\n1,hello\n2,"a, b"\n', csv)).toEqual(['hello', 'a, b']);
    expect(readTexts('{"body":"x"}\n\n{"body":"y"}\n', { ...csv, format: 'jsonl', textColumn: 'body' })).toEqual(['x', 'y']);
  });
  it('refuses a file with an empty text, naming the row', () => {
    expect(() => readTexts('id,text\n1,ok\n2,\n', csv)).toThrow(/row 3: text must not be empty/);
    expect(() => readTexts('body\nx\n', csv)).toThrow(BadInput);
  });
});

describe('predictCommands.file', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'cli-predict-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it(`sends at most ${PREDICT_BATCH} rows per request and writes every row in order`, async () => {
    const n = 2 * PREDICT_BATCH + 7;
    await writeFile(join(dir, 'in.csv'), `text\n${Array.from({ length: n }, (_, i) => `t${i}`).join('\n')}\n`);
    const sizes: number[] = [];
    const serving: ServiceCall = async (_m, path, o) => {
      expect(path).toBe('/v1/models/shop/predict/batch');
      const items = (o?.body as { items: { text: string }[] }).items;
      sizes.push(items.length);
      return { predictions: items.map((it) => ({ label: `L-${it.text}`, confidence: 0.5, modelVersion: '1.0.0', variant: 'champion' })) };
    };
    const lines: string[] = [];
    await predictCommands.file({ serving, print: (l) => lines.push(l) }, 'shop', join(dir, 'in.csv'), csv, join(dir, 'out.csv'));
    expect(sizes).toEqual([PREDICT_BATCH, PREDICT_BATCH, 7]);
    const out = parseCsv(await readFile(join(dir, 'out.csv'), 'utf8'));
    expect(out[0]).toEqual(['text', 'label', 'confidence', 'modelVersion']);
    expect(out).toHaveLength(n + 1);
    expect(out[n]).toEqual([`t${n - 1}`, `L-t${n - 1}`, '0.500000', '1.0.0']);
    expect(lines.join('\n')).toContain(`predicted ${n} rows`);
  });

  it('says "no model named" when serving does not know the model', async () => {
    await writeFile(join(dir, 'in.csv'), 'text\nhello\n');
    const serving: ServiceCall = async () => { throw new ServiceRefused('serving', 404, 'not_found', 'model "nosuch" is not served here'); };
    const err = await predictCommands.file({ serving, print: () => {} }, 'nosuch', join(dir, 'in.csv'), csv, join(dir, 'out.csv')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFound);
    expect((err as Error).message).toMatch(/^no model named nosuch/);
  });
});
