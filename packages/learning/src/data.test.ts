import { describe, expect, it } from 'vitest';
import { cutLabelPath, parseCsv, parseExamples, splitByGroup } from './data.js';

describe('data', () => {
  it('parses quoted CSV with doubled quotes and commas', () => {
    const rows = parseCsv('a,"b, c","say ""hi"""\r\n1,2,3\n');
    expect(rows).toEqual([
      ['a', 'b, c', 'say "hi"'],
      ['1', '2', '3'],
    ]);
  });

  it('cuts label paths, including the flipkart JSON-array form', () => {
    const raw = '["Clothing >> Women\'s Clothing >> Lingerie >> Shorts"]';
    expect(cutLabelPath(raw, 1)).toBe('Clothing');
    expect(cutLabelPath(raw, 2)).toBe("Clothing >> Women's Clothing");
    expect(cutLabelPath('["Just A Product Name"]', 1)).toBeUndefined();
    expect(cutLabelPath('A >> B', 3)).toBeUndefined();
    expect(cutLabelPath('A >> B', 3, ' >> ', false)).toBe('A >> B');
  });

  it('reads headerless CSV by index and headed CSV / JSONL by name', () => {
    const headerless = 'id1,Red Shoe,"[""Footwear >> Men""]"\nid2,Gold Ring,"[""Jewellery >> Rings""]"\n';
    expect(parseExamples(headerless, { format: 'csv', header: false, textColumn: 1, labelColumn: 2, labelDepth: 1 }).map((e) => e.label)).toEqual(['Footwear', 'Jewellery']);
    const headed = 'title,cat\nRed Shoe,Footwear\n';
    expect(parseExamples(headed, { format: 'csv', textColumn: 'title', labelColumn: 'cat' })).toEqual([{ text: 'Red Shoe', label: 'Footwear', group: 'red shoe' }]);
    const jsonl = '{"t":"Red Shoe","l":"A >> B >> C","g":"x"}\n\n{"t":"Ring","l":"D"}\n';
    const ex = parseExamples(jsonl, { format: 'jsonl', textColumn: 't', labelColumn: 'l', groupColumn: 'g', labelDepth: 2, minLabelDepth: false });
    expect(ex).toEqual([
      { text: 'Red Shoe', label: 'A >> B', group: 'x' },
      { text: 'Ring', label: 'D', group: 'ring' },
    ]);
  });

  it('splits by group key so near-duplicates never straddle the split', () => {
    const rows = Array.from({ length: 400 }, (_, i) => ({ text: `item ${i % 50}`, label: 'x' }));
    const { train, held } = splitByGroup(rows, { fraction: 0.2, seed: 1 });
    const heldTexts = new Set(held.map((r) => r.text));
    expect(held.length).toBeGreaterThan(0);
    expect(train.some((r) => heldTexts.has(r.text))).toBe(false);
  });
});
