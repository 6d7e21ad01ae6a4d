import { createTextEncoder, ENCODER_FILES, readEncoderFolder, type EncoderFiles, type TextEncoder } from '@flywheel/learning';
import { ConfigError } from '@flywheel/runtime';
import type { EncoderRef, MinioArtifactStore } from '@flywheel/registry';
import { tokenizerInfo } from './tokenizerInfo.js';

/**
 * The folder as a `hybrid` base: its flywheel-encoder.json (kept as it is otherwise) gains
 * `hybrid.buckets`, so the stored folder itself says so and the trainer and serving open the same base.
 */
function asHybrid(files: EncoderFiles, buckets: number): EncoderFiles {
  let current: Record<string, unknown> = {};
  try {
    if (files.config) current = JSON.parse(new TextDecoder().decode(files.config)) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(`${ENCODER_FILES.config} of the encoder folder is not valid JSON; fix it or remove it`, { cause, reason: 'encoder_file_invalid' });
  }
  return { ...files, config: new TextEncoder().encode(JSON.stringify({ ...current, hybrid: { buckets } })) };
}

/** An encoder folder opened (every check and one probe inference) and stored once under encoders/<content hash>/. */
export async function storeEncoderFolder(
  artifacts: Pick<MinioArtifactStore, 'ensureEncoder'>,
  dir: string,
  options: { hybridBuckets?: number } = {},
): Promise<{ encoder: TextEncoder; ref: EncoderRef; uploaded: boolean }> {
  const read = await readEncoderFolder(dir);
  const files = options.hybridBuckets === undefined ? read : asHybrid(read, options.hybridBuckets);
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
