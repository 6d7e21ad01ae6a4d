import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createHfTokenizer } from '../hfTokenizers.js';
import { buildTinyBert } from './tinyBert.js';
import { shippedClinc } from './tinyEncoder.js';
import { buildWordPieceVocab, SPECIAL_TOKENS, wordPieceTokenizerJson } from './wordPieceTokenizer.js';

const texts = (await shippedClinc()).map((e) => e.text);
const vocab = buildWordPieceVocab(texts);
const tokenizer = createHfTokenizer(wordPieceTokenizerJson(vocab));
const id = (t: string): number => vocab.indexOf(t);

describe('WordPiece tokenizer.json built from the shipped data', () => {
  it('is deterministic and starts with the BERT special tokens', () => {
    expect(vocab.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    expect(buildWordPieceVocab(texts)).toEqual(vocab);
    expect(vocab.length).toBeGreaterThan(2000);
  });

  it('wraps text in [CLS] … [SEP], lowercases and splits punctuation, as the library reads it', () => {
    const e = tokenizer.encode('What is my BALANCE?', { return_token_type_ids: true });
    expect(e.tokens).toEqual(['[CLS]', 'what', 'is', 'my', 'balance', '?', '[SEP]']);
    expect(e.ids).toEqual(e.tokens.map(id));
    expect(e.attention_mask).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(e.token_type_ids).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('strips accents, spells rare words from pieces and maps unseen symbols to [UNK]', () => {
    const e = tokenizer.encode('Crème brûlée 😀 zyxwvq');
    expect(e.tokens[1]).toBe('c'); // accent stripped: "creme" spelled from pieces
    expect(e.tokens.filter((t) => t.startsWith('##')).length).toBeGreaterThan(3);
    expect(e.tokens).toContain('[UNK]'); // the emoji
    expect(e.tokens.filter((t) => t === '[UNK]')).toHaveLength(1);
    expect(tokenizer.decode(e.ids)).toBe('[CLS] creme brulee [UNK] zyxwvq [SEP]');
  });

  it('keeps only the special tokens for text empty after normalisation', () => {
    expect(tokenizer.encode('   \u200b\t').tokens).toEqual(['[CLS]', '[SEP]']);
  });

  it('gives as many tokens as the text has pieces for very long text (truncation is the featurizer’s job)', () => {
    expect(tokenizer.encode('balance '.repeat(300)).ids).toHaveLength(302);
  });
});

describe('tiny BERT-shaped encoder as ONNX', async () => {
  const session = await ort.InferenceSession.create(buildTinyBert({ vocabSize: vocab.length, seed: 3 }));
  const feed = (rows: number[][], mask: number[][]): Record<string, ort.Tensor> => {
    const dims = [rows.length, rows[0]!.length];
    const t = (v: number[][]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(v.flat().map(BigInt)), dims);
    return { input_ids: t(rows), attention_mask: t(mask), token_type_ids: t(rows.map((r) => r.map(() => 0))) };
  };

  it('declares BERT inputs and last_hidden_state', () => {
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(session.outputNames).toEqual(['last_hidden_state']);
  });

  it('outputs [batch, sequence, 64] and padding does not change a row', async () => {
    const short = tokenizer.encode('book a flight').ids;
    const long = tokenizer.encode('what is the weather like in paris tomorrow').ids;
    const padded = [...short, ...Array<number>(long.length - short.length).fill(0)];
    const out = (await session.run(feed([padded, long], [padded.map((_, i) => (i < short.length ? 1 : 0)), long.map(() => 1)]))).last_hidden_state!;
    expect(out.dims).toEqual([2, long.length, 64]);
    const alone = (await session.run(feed([short], [short.map(() => 1)]))).last_hidden_state!;
    const batched = (out.data as Float32Array).subarray(0, short.length * 64);
    const single = alone.data as Float32Array;
    for (let i = 0; i < single.length; i++) expect(batched[i]).toBeCloseTo(single[i]!, 4);
    // tokens differ → hidden states differ (the model is not constant)
    expect(Math.abs(single[0]! - single[64]!)).toBeGreaterThan(1e-3);
  });

  it('is the same model for the same seed and a different one for another seed', () => {
    const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
    expect(same(buildTinyBert({ vocabSize: 50, seed: 1 }), buildTinyBert({ vocabSize: 50, seed: 1 }))).toBe(true);
    expect(same(buildTinyBert({ vocabSize: 50, seed: 1 }), buildTinyBert({ vocabSize: 50, seed: 2 }))).toBe(false);
  });
});
