import { bertWordSplitter } from '../hfTokenizers.js';

/** BERT's special tokens in their usual order; their ids are their positions. */
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const NORMALIZER = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true } as const;
const PRE_TOKENIZER = { type: 'BertPreTokenizer' } as const;

export interface WordPieceOptions {
  /** most frequent whole words kept (default 2000) */
  words?: number;
  /** most frequent word-continuation pieces ("##ing") kept, 2 to 4 characters (default 500) */
  suffixes?: number;
  /** characters seen fewer times are left out, so they become [UNK] (default 2) */
  minCharCount?: number;
  /** written as the tokenizer.json truncation length (default 128) */
  maxLength?: number;
}

/**
 * Words of a text the way the tokenizer will see them, split by the library's own BERT normalizer and
 * pre-tokenizer so the vocabulary is built from exactly the pieces it later looks up.
 */
export const bertWords = (): ((text: string) => string[]) => bertWordSplitter(NORMALIZER, PRE_TOKENIZER);

const count = (m: Map<string, number>, k: string): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};
const top = (m: Map<string, number>, n: number): string[] =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, n)
    .map(([k]) => k);

/**
 * A WordPiece vocabulary from word counts: specials, then every frequent character (word-initial and
 * "##" continuation, so nearly every word can be spelt), then the most frequent words, then frequent
 * word endings. Deterministic for the same texts and options.
 */
export function buildWordPieceVocab(texts: Iterable<string>, options: WordPieceOptions = {}): string[] {
  const words = new Map<string, number>();
  const chars = new Map<string, number>();
  const toWords = bertWords();
  for (const text of texts) {
    for (const w of toWords(text)) {
      count(words, w);
      for (const c of w) count(chars, c);
    }
  }
  const vocab: string[] = [...SPECIAL_TOKENS];
  const seen = new Set<string>(vocab);
  const add = (t: string): void => {
    if (!seen.has(t)) {
      seen.add(t);
      vocab.push(t);
    }
  };
  const minChar = options.minCharCount ?? 2;
  // printable ASCII always, so punctuation and digits missing from the sample still spell out
  for (let c = 33; c < 127; c++) chars.set(String.fromCharCode(c), Infinity);
  const keptChars = [...chars.entries()].filter(([, n]) => n >= minChar).map(([c]) => c).sort();
  for (const c of keptChars) add(c);
  for (const c of keptChars) add(`##${c}`);
  const keptWords = top(words, options.words ?? 2000);
  for (const w of keptWords) add(w);
  const kept = new Set(keptWords);
  const endings = new Map<string, number>();
  for (const [w, n] of words) {
    if (kept.has(w)) continue;
    const cs = [...w];
    for (let len = 2; len <= 4 && len < cs.length; len++) endings.set(cs.slice(-len).join(''), (endings.get(cs.slice(-len).join('')) ?? 0) + n);
  }
  for (const e of top(endings, options.suffixes ?? 500)) add(`##${e}`);
  return vocab;
}

/** A Hugging Face tokenizer.json (BERT uncased style) for a WordPiece vocabulary. */
export function wordPieceTokenizerJson(vocab: readonly string[], options: { maxLength?: number } = {}): Record<string, unknown> {
  const id = (t: string): number => {
    const i = vocab.indexOf(t);
    if (i < 0) throw new Error(`vocabulary has no ${t}`);
    return i;
  };
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: options.maxLength ?? 128, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t) => ({ id: id(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: NORMALIZER,
    pre_tokenizer: PRE_TOKENIZER,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}
