// Typed door to @huggingface/tokenizers. Its index.d.ts re-exports with extensionless relative paths,
// which NodeNext resolution cannot follow, so the few members used here are typed once, in this file.
import * as hf from '@huggingface/tokenizers';

export interface HfEncoding {
  ids: number[];
  tokens: string[];
  attention_mask: number[];
  token_type_ids?: number[];
}

export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean; return_token_type_ids?: boolean }): HfEncoding;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

interface HfTokenizersModule {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;
  BertNormalizer: new (config: object) => (text: string) => string;
  BertPreTokenizer: new (config: object) => (text: string) => string[];
}

const lib = hf as unknown as HfTokenizersModule;

/** A tokenizer from parsed tokenizer.json (and tokenizer_config.json when the model has one). */
export const createHfTokenizer = (tokenizerJson: object, tokenizerConfig: object = {}): HfTokenizer => new lib.Tokenizer(tokenizerJson, tokenizerConfig);

/** The library's BERT normalizer and pre-tokenizer as one function: text → words. */
export function bertWordSplitter(normalizer: object, preTokenizer: object): (text: string) => string[] {
  const normalize = new lib.BertNormalizer(normalizer);
  const split = new lib.BertPreTokenizer(preTokenizer);
  return (text) => split(normalize(text));
}
