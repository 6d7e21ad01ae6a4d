import { describe, expect, it } from 'vitest';
import { contentHash, idempotencyKey, parseLabelledFile, toFeedbackItems } from './labelledFile.js';

const csv = { format: 'csv' as const, header: true, textColumn: 'text', labelColumn: 'label' };

describe('parseLabelledFile', () => {
  it('accepts a file whose every row has a text and a label', () => {
    expect(parseLabelledFile('text,label\nhello,greeting\n"bye, now",farewell\n', csv)).toEqual({
      ok: true, rows: [{ text: 'hello', label: 'greeting' }, { text: 'bye, now', label: 'farewell' }],
    });
  });
  it('refuses the whole file when one row lacks a label, naming the row', () => {
    const r = parseLabelledFile('text,label\nhello,greeting\nno label here,\n', csv);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('row 3');
  });
  it('refuses a file whose header lacks a named column', () => {
    const r = parseLabelledFile('body,label\nhello,greeting\n', csv);
    expect(!r.ok && r.reason).toMatch(/column "text".*not in the header: body, label/);
  });
  it('refuses an empty file', () => {
    expect(parseLabelledFile('text,label\n', csv)).toEqual({ ok: false, reason: 'the file holds no data rows' });
  });
  it('reads JSONL and names a broken line', () => {
    const fmt = { ...csv, format: 'jsonl' as const };
    expect(parseLabelledFile('{"text":"a","label":"x"}\n{"text":"b","label":"y"}\n', fmt)).toEqual({ ok: true, rows: [{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }] });
    const r = parseLabelledFile('{"text":"a","label":"x"}\n{oops\n', fmt);
    expect(!r.ok && r.reason).toContain('line 2: not valid JSON');
  });
  it('cuts label paths with --label-depth and refuses paths that are too short', () => {
    const fmt = { ...csv, labelDepth: 2 };
    expect(parseLabelledFile('text,label\nwatch,A >> B >> C\n', fmt)).toEqual({ ok: true, rows: [{ text: 'watch', label: 'A >> B' }] });
    expect(parseLabelledFile('text,label\nwatch,A\n', fmt).ok).toBe(false);
  });
  it('uses column indexes without a header', () => {
    expect(parseLabelledFile('1,hello,greeting\n', { ...csv, header: false, textColumn: 1, labelColumn: 2 })).toEqual({ ok: true, rows: [{ text: 'hello', label: 'greeting' }] });
  });
});

describe('feedback items and keys', () => {
  it('sends each row as a misclassification carrying the label as correctLabel, without predictedLabel', () => {
    expect(toFeedbackItems('shop', [{ text: 't', label: 'l' }], 'cli:ops')).toEqual([{ model: 'shop', kind: 'misclassification', text: 't', correctLabel: 'l', reporter: 'cli:ops' }]);
  });
  it('derives the same key for the same content, model and chunk, and another for another chunk', () => {
    const h = contentHash(new TextEncoder().encode('text,label\na,b\n'));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(idempotencyKey('shop', h, 0)).toBe(idempotencyKey('shop', contentHash(new TextEncoder().encode('text,label\na,b\n')), 0));
    expect(idempotencyKey('shop', h, 1)).not.toBe(idempotencyKey('shop', h, 0));
    expect(idempotencyKey('shop', h, 0).length).toBeLessThanOrEqual(200);
  });
});
