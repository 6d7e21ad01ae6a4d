import { createTextEncoder, ENCODER_FILES, readEncoderFolder, type TextEncoder } from '@flywheel/learning';
import type { EncoderRef, MinioArtifactStore } from '@flywheel/registry';
import { tokenizerInfo } from './tokenizerInfo.js';

/** An encoder folder opened (every check and one probe inference) and stored once under encoders/<content hash>/. */
export async function storeEncoderFolder(
  artifacts: Pick<MinioArtifactStore, 'ensureEncoder'>,
  dir: string,
): Promise<{ encoder: TextEncoder; ref: EncoderRef; uploaded: boolean }> {
  const files = await readEncoderFolder(dir);
  const encoder = await createTextEncoder(files);
  try {
    const byName: Record<string, Uint8Array> = { [ENCODER_FILES.model]: files.model, [ENCODER_FILES.tokenizer]: files.tokenizer };
    if (files.tokenizerConfig) byName[ENCODER_FILES.tokenizerConfig] = files.tokenizerConfig;
    if (files.config) byName[ENCODER_FILES.config] = files.config;
    // The key is the hash the encoder computed from exactly these bytes: the trainer and serving recompute it from what they read back.
    const stored = await artifacts.ensureEncoder(encoder.hash, byName, { ...tokenizerInfo(files.tokenizer), maxLength: encoder.maxLength });
    return { encoder, ref: stored.encoder, uploaded: stored.uploaded };
  } catch (err) {
    await encoder.release();
    throw err;
  }
}
