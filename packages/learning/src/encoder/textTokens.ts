import type { HfTokenizer } from './hfTokenizers.js';

/** One text as the encoder reads it: token ids and token type ids, special tokens included. */
export interface TextTokens {
  ids: number[];
  typeIds: number[];
}

const startsAt = (whole: readonly number[], part: readonly number[], at: number): boolean => part.every((v, i) => whole[at + i] === v);

/**
 * Tokenizes with the model's own tokenizer and truncates to `maxLength` the way Hugging Face does for
 * one sequence: the text is cut, the special tokens around it ([CLS] … [SEP], <s> … </s>) are kept.
 * The library has no truncation of its own, so it is done here on the ids.
 */
export function truncatingTokenizer(tokenizer: HfTokenizer, maxLength: number): (text: string) => TextTokens {
  return (text) => {
    const full = tokenizer.encode(text, { return_token_type_ids: true });
    const typeIds = full.token_type_ids ?? full.ids.map(() => 0);
    if (full.ids.length <= maxLength) return { ids: full.ids, typeIds };
    // where the text's own tokens sit among the special ones
    const core = tokenizer.encode(text, { add_special_tokens: false }).ids;
    let at = 0;
    while (at + core.length <= full.ids.length && !startsAt(full.ids, core, at)) at++;
    const found = at + core.length <= full.ids.length;
    // a post-processor that rewrote the text's tokens: plain cut
    const pick = found
      ? (v: readonly number[]): number[] => [...v.slice(0, at + Math.max(0, maxLength - (full.ids.length - core.length))), ...v.slice(at + core.length)].slice(0, maxLength)
      : (v: readonly number[]): number[] => v.slice(0, maxLength);
    return { ids: pick(full.ids), typeIds: pick(typeIds) };
  };
}

/** The id padding uses: tokenizer.json's padding id, else the usual pad tokens, else 0. */
export function padTokenId(tokenizer: HfTokenizer, configured: number | undefined): number {
  return configured ?? tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0;
}
