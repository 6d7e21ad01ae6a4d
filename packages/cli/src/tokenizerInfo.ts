import type { EncoderRef } from '@flywheel/registry';

/** tokenizer.json's model type and truncation length, recorded in the manifest for people reading it. */
export function tokenizerInfo(bytes: Uint8Array): EncoderRef['tokenizer'] {
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { model?: { type?: unknown }; truncation?: { max_length?: unknown } | null };
    const type = typeof json.model?.type === 'string' ? json.model.type : undefined;
    const maxLength = typeof json.truncation?.max_length === 'number' && json.truncation.max_length > 0 ? json.truncation.max_length : undefined;
    return { ...(type ? { type } : {}), ...(maxLength ? { maxLength } : {}) };
  } catch {
    return undefined; // loadImportedClassifier already read it; this is only a description
  }
}
