import { parseCsv } from '@flywheel/learning';
import { describe, expect, it } from 'vitest';
import { csvField, toCsv } from './csvFile.js';

describe('csvFile', () => {
  it('quotes only fields that need it', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField(0.5)).toBe('0.5');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
  });
  it('writes a document that a CSV reader gives back unchanged', () => {
    const rows = [['a, "quoted" text', 'x', '0.9', '1.0.0'], ['line\r\nbreak', 'y', '0.1', '1.0.0']];
    const doc = toCsv(['text', 'label', 'confidence', 'modelVersion'], rows);
    expect(doc.endsWith('\n')).toBe(true);
    expect(parseCsv(doc)).toEqual([['text', 'label', 'confidence', 'modelVersion'], ...rows]);
  });
});
