import { createTextEncoder } from '@flywheel/learning';
import { describe, expect, it } from 'vitest';
import { chooseVocabulary, encoderFolderFiles } from './buildEncoderFolder.js';
import { winkWordVectors } from './winkVectors.js';

// A tiny fake vector set in the package's format: [...dims, l2 norm, word index], frequency order.
const fake = {
  precision: 8,
  dimensions: 3,
  size: 5,
  words: ['the', 'red', 'apple', 'banana', 'café'],
  vectors: {
    the: [0.5, 0.5, 0.5, 0.87, 0],
    red: [1, 0, 2, 2.24, 1],
    apple: [3, -1, 0, 3.16, 2],
    banana: [0, 4, -2, 4.47, 3],
    café: [9, 9, 9, 15.6, 4],
  },
  unkVector: [0, 0, 0, 0, -1],
};
const vectors = winkWordVectors(fake);
const v = (w: keyof typeof fake.vectors): number[] => fake.vectors[w].slice(0, 3);
const mean = (...rows: number[][]): number[] => rows[0]!.map((_, d) => rows.reduce((a, r) => a + r[d]!, 0) / rows.length);
const bytes = (files: ReturnType<typeof encoderFolderFiles>) => ({
  model: files['model.onnx'],
  tokenizer: new TextEncoder().encode(files['tokenizer.json']),
  tokenizerConfig: new TextEncoder().encode(files['tokenizer_config.json']),
  config: new TextEncoder().encode(files['flywheel-encoder.json']),
});

describe('GloVe encoder folder', () => {
  it('keeps the words of the texts plus the most frequent, in frequency order', () => {
    expect(chooseVocabulary(vectors, ['Banana split', 'kiwi'], { top: 1 })).toEqual(['the', 'banana']);
    expect(chooseVocabulary(vectors, [], { top: 2 })).toEqual(['the', 'red']);
  });

  it('embeds a text as the mean of its known words, in onnxruntime through the encoder base loader', async () => {
    const encoder = await createTextEncoder(bytes(encoderFolderFiles(vectors, ['the', 'red', 'apple', 'banana'])));
    try {
      expect(encoder.dim).toBe(3);
      expect(encoder.pooling).toBe('output');
      // unknown words ("kiwi", "café" left out of the vocabulary) are not averaged in; case and punctuation are normalised away
      const texts = ['Red apple', 'RED, apple!', 'banana kiwi', 'the red apple banana', 'kiwi café', ''];
      const expected = [mean(v('red'), v('apple')), mean(v('red'), v('apple')), v('banana'), mean(v('the'), v('red'), v('apple'), v('banana')), [0, 0, 0], [0, 0, 0]];
      // in one padded batch and one at a time: padding must not change a row
      const batched = await encoder.embed(texts);
      const single = await Promise.all(texts.map(async (t) => (await encoder.embed([t]))[0]!));
      for (const rows of [batched, single]) rows.forEach((row, i) => expect([...row].map((x, d) => x - expected[i]![d]!).every((x) => Math.abs(x) < 1e-6), `${texts[i]}: ${[...row].join(',')}`).toBe(true));
    } finally {
      await encoder.release();
    }
  });

  it('strips accents the way the tokenizer normalises, so "Café" finds "cafe" only when the vectors spell it so', async () => {
    const encoder = await createTextEncoder(bytes(encoderFolderFiles(vectors, ['apple', 'café'])));
    try {
      const [row] = await encoder.embed(['Café apple']);
      // BertNormalizer (lowercase, accents stripped) turns "Café" into "cafe", which is not "café": only apple counts
      expect([...row!].map((x) => Math.round(x * 1e6) / 1e6)).toEqual(v('apple'));
    } finally {
      await encoder.release();
    }
  });

  it('says which word is missing when asked for a word the vectors do not have', () => {
    expect(() => encoderFolderFiles(vectors, ['kiwi'])).toThrow(/no "kiwi"/);
  });
});
