// Typed door to @huggingface/tokenizers (its index.d.ts re-exports with extensionless paths that
// NodeNext cannot follow): only the members this tool uses.
import * as hf from '@huggingface/tokenizers';

export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
}

const lib = hf as unknown as { Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer };

/** A tokenizer from parsed tokenizer.json and tokenizer_config.json, as an encoder base loads them. */
export const createHfTokenizer = (tokenizerJson: object, tokenizerConfig: object): HfTokenizer => new lib.Tokenizer(tokenizerJson, tokenizerConfig);
