/**
 * A classifier on a frozen `encoder` base folder (e.g. the GloVe folder of tools/encoder-glove) for
 * bench:microbatch: the engine serves encoders only under a Flywheel head, so a head (projection +
 * softmax) is trained on a sample of the shipped CLINC150 rows with learning's encoder training API,
 * exported as base ONNX + adapter, and loaded with `loadBase(onnx, { encoder })` as serving does.
 */
import { ENCODER_FILES, exportAdapter, exportBaseOnnx, loadTextEncoder, readEncoderFolder, type Example } from '@flywheel/learning';
import { initBackend, trainEncoderBase } from '@flywheel/learning/train';
import type { EncoderSource } from '../src/ports.js';

export interface EncoderHeadModel {
  /** what the engine is given: the folder's files under their stored names, by content hash */
  source: EncoderSource;
  baseOnnx: Uint8Array;
  adapter: { bytes: Uint8Array; manifest: unknown };
  labels: readonly string[];
  trainRows: number;
  trainSeconds: number;
}

/** Every k-th row, so the sample keeps every label of the shipped data. */
const spread = <T>(rows: readonly T[], n: number): T[] => {
  const step = Math.max(1, Math.floor(rows.length / n));
  return rows.filter((_, i) => i % step === 0).slice(0, n);
};

export async function trainEncoderHead(dir: string, examples: readonly Example[], options: { rows: number; seed: number }): Promise<EncoderHeadModel> {
  const files = await readEncoderFolder(dir);
  const byName: Record<string, Uint8Array> = {};
  for (const [key, name] of Object.entries(ENCODER_FILES)) {
    const bytes = files[key as keyof typeof files];
    if (bytes instanceof Uint8Array) byName[name] = bytes;
  }
  // the encoder only embeds the training rows here; serving opens its own session from the same files
  const encoder = await loadTextEncoder(dir, { intraOpNumThreads: 1, batchSize: 64 });
  await initBackend();
  const train = spread(examples, options.rows);
  const t0 = performance.now();
  try {
    const { state } = await trainEncoderBase(train, { encoder }, { seed: options.seed, epochs: 6, patience: 2, batchSize: 128 });
    const adapter = exportAdapter(state, { version: 'bench@1.0.0' });
    return {
      source: { hash: encoder.hash, files: async () => byName },
      baseOnnx: exportBaseOnnx(state),
      adapter: { bytes: adapter.bytes, manifest: adapter.manifest },
      labels: state.labels,
      trainRows: train.length,
      trainSeconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await encoder.release();
  }
}
