import { ConfigError } from '@flywheel/runtime';
import { ENCODER_FILES, type EncoderFiles } from '@flywheel/learning';

/** The stored files of an encoder folder (by file name) as @flywheel/learning opens them. */
export function encoderFilesOf(files: Readonly<Record<string, Uint8Array>>, hash: string): EncoderFiles {
  const model = files[ENCODER_FILES.model];
  const tokenizer = files[ENCODER_FILES.tokenizer];
  if (model === undefined || tokenizer === undefined) {
    throw new ConfigError(`encoder folder ${hash.slice(0, 12)} in the object store has no ${model === undefined ? ENCODER_FILES.model : ENCODER_FILES.tokenizer}; import the model again`, { reason: 'encoder_files_missing' });
  }
  const tokenizerConfig = files[ENCODER_FILES.tokenizerConfig];
  const config = files[ENCODER_FILES.config];
  return { model, tokenizer, ...(tokenizerConfig ? { tokenizerConfig } : {}), ...(config ? { config } : {}) };
}
