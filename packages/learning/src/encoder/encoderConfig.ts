import { z } from 'zod';

/** Files of an `encoder` base folder. */
export const ENCODER_FILES = { model: 'model.onnx', tokenizer: 'tokenizer.json', tokenizerConfig: 'tokenizer_config.json', config: 'flywheel-encoder.json' } as const;

/** The optional flywheel-encoder.json of an encoder base folder. */
export const EncoderConfig = z
  .object({
    /** how a last_hidden_state becomes one vector: the first ([CLS]) row or the mean over real tokens */
    pooling: z.enum(['cls', 'mean']).default('mean'),
    /** tokens per text including special tokens; default: tokenizer.json's truncation length, else 512 */
    maxLength: z.number().int().min(2).max(8192).optional(),
    /** the model output to read; default: last_hidden_state, else the only 2-D output (a pooled embedding) */
    output: z.string().min(1).optional(),
    /**
     * a `hybrid` base: the encoder's embedding and a hashed n-gram bag of `buckets` side by side, so
     * words the frozen encoder never saw (new product names) still have features to learn from
     */
    hybrid: z.object({ buckets: z.number().int().min(16).max(65_536).default(1024) }).strict().optional(),
  })
  .strict();
export type EncoderConfig = z.infer<typeof EncoderConfig>;

/** The parts of tokenizer.json read here besides what the tokenizer library reads. */
export const TokenizerJsonHints = z.object({
  truncation: z.object({ max_length: z.number().int().positive() }).passthrough().nullish(),
  padding: z.object({ pad_id: z.number().int().nonnegative() }).passthrough().nullish(),
  model: z.object({ type: z.string().optional() }).passthrough(),
});

export const DEFAULT_MAX_LENGTH = 512;
