import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@flywheel/stats';
import { buildTextReference, spreadSample } from './textReference.js';
import { oovRate, tokenize } from './textFeatures.js';

describe('buildTextReference', () => {
  it('counts every row for length, tokens and labels', () => {
    const rows = [
      { text: 'red shoe', label: 'shoes' },
      { text: 'red watch', label: 'watches' },
      { text: 'blue shoe', label: 'shoes' },
      { text: 'blue shoe', label: 'shoes' },
    ];
    const ref = buildTextReference(rows, 8);
    expect(ref.size).toBe(4);
    expect(Object.fromEntries(ref.labels)).toEqual({ shoes: 3, watches: 1 });
    expect(ref.tokenBuckets).toHaveLength(8);
    expect(ref.tokenBuckets.reduce((a, b) => a + b, 0)).toBe(8); // every token of every row
    expect([...ref.textLength.sorted]).toEqual([8, 9, 9, 9]);
  });

  it('takes the vocabulary from one half of the texts and the OOV rates from the other, keeping a repeated text on one side', () => {
    // Every text has its own words and appears twice (the same traffic confirmed twice): a repeated
    // text on both sides would read as OOV 0; on one side its held-out OOV rate is 1.
    const rows = Array.from({ length: 200 }, (_, i) => ({ text: `w${i >> 1}a w${i >> 1}b`, label: 'x' }));
    const ref = buildTextReference(rows, 8);
    expect(ref.oovRate.sorted.length).toBeGreaterThan(40);
    expect(ref.oovRate.sorted.length).toBeLessThan(160);
    expect(ref.oovRate.sorted.every((x) => x === 1)).toBe(true);
    expect(ref.vocabulary.size).toBe(2 * (100 - ref.oovRate.sorted.length / 2));
  });

  it('draws both halves from every block, so a snapshot stored in blocks (old rows, then fresh rows) does not read as all-OOV', () => {
    const rng = mulberry32(7);
    const block = (prefix: string, label: string) => Array.from({ length: 200 }, () => ({ text: `${prefix}${Math.floor(rng() * 10)} ${prefix}${Math.floor(rng() * 10)}x`, label }));
    const old = block('alpha', 'a');
    const fresh = block('zulu', 'z');
    const ref = buildTextReference([...old, ...fresh], 16);
    const meanOov = ref.oovRate.sorted.reduce((a, b) => a + b, 0) / ref.oovRate.sorted.length;
    expect(meanOov).toBeLessThan(0.05);
    expect(oovRate(tokenize('zulu3 zulu4x'), ref.vocabulary)).toBe(0);
  });

  it('refuses an empty snapshot (the caller then falls back to predictions)', () => {
    expect(() => buildTextReference([], 8)).toThrow(RangeError);
  });
});

describe('spreadSample', () => {
  it('keeps every row under the cap and spreads the sample over the whole input above it', () => {
    expect(spreadSample([1, 2, 3], 5)).toEqual([1, 2, 3]);
    const xs = Array.from({ length: 1000 }, (_, i) => i);
    const s = spreadSample(xs, 10);
    expect(s).toHaveLength(10);
    expect(s[0]).toBe(0);
    expect(s.at(-1)).toBeGreaterThanOrEqual(900);
  });
});
