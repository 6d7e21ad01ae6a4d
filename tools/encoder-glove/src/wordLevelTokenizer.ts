/** The two tokens before the words: padding and unknown word; both pool to nothing. */
export const WORD_LEVEL_SPECIALS = ['[PAD]', '[UNK]'] as const;

/**
 * A Hugging Face tokenizer.json with a WordLevel model: BERT's normalizer (lowercase, accents
 * stripped) and pre-tokenizer (split on whitespace and punctuation), then one id per word, [UNK] for a
 * word the vectors do not have. No special tokens are added around a text: the graph averages words.
 */
export function wordLevelTokenizerJson(vocab: readonly string[], options: { maxLength: number }): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: options.maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: WORD_LEVEL_SPECIALS.map((t) => ({ id: vocab.indexOf(t), content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab: Object.fromEntries(vocab.map((w, i) => [w, i])), unk_token: '[UNK]' },
  };
}

/**
 * tokenizer_config.json: @huggingface/tokenizers (JS) reads a WordLevel model's unknown and padding
 * tokens from here, the Rust library from the model section; both are written so either loads it.
 */
export const wordLevelTokenizerConfig = (): Record<string, unknown> => ({ unk_token: '[UNK]', pad_token: '[PAD]', model_max_length: 512 });
