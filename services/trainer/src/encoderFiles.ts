import { ENCODER_FILES, type EncoderFiles } from '@flywheel/learning';
import { CorruptArtifact } from '@flywheel/registry';

/** An encoder or classifier folder as stored (files by name) in the shape @flywheel/learning opens. */
export function encoderFilesOf(files: Readonly<Record<string, Uint8Array>>): EncoderFiles {
  const model = files[ENCODER_FILES.model];
  const tokenizer = files[ENCODER_FILES.tokenizer];
  if (model === undefined || tokenizer === undefined) {
    throw new CorruptArtifact(`the stored encoder folder has no ${model === undefined ? ENCODER_FILES.model : ENCODER_FILES.tokenizer}; import the model again (flywheel import)`);
  }
  const tokenizerConfig = files[ENCODER_FILES.tokenizerConfig];
  const config = files[ENCODER_FILES.config];
  return { model, tokenizer, ...(tokenizerConfig ? { tokenizerConfig } : {}), ...(config ? { config } : {}) };
}
