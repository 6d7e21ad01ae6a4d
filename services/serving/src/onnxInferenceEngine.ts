import { createImportedClassifier, createOnnxBase, createTextEncoder } from '@flywheel/learning';
import { encoderFilesOf } from './encoderFiles.js';
import { EncoderPool } from './EncoderPool.js';
import { withExecutionProviders } from './executionProviders.js';
import { importedBase } from './importedBase.js';
import type { MicroBatchOptions } from '@flywheel/runtime';
import type { InferenceEngine } from './ports.js';
import { rowBatchedBase } from './rowBatchedBase.js';

export interface OnnxEngineOptions {
  intraOpThreads?: number;
  /** for encoder sessions (user models): onnxruntime providers in order, e.g. ['cuda', 'cpu'] (default cpu) */
  executionProviders?: readonly string[];
  /** micro-batching of concurrent requests: encoder runs wait up to maxWaitMs; n-gram runs merge only the calls of one turn (default off) */
  microBatch?: MicroBatchOptions;
  /** told when the configured providers cannot be used and the CPU is used instead */
  warn?: (message: string, err: unknown) => void;
}

/**
 * The InferenceEngine of @flywheel/learning (onnxruntime-node): one session per base, adapters
 * share it; encoder sessions (issue 15) are shared per encoder hash and micro-batched.
 */
export const onnxInferenceEngine = (options: OnnxEngineOptions = {}): InferenceEngine => {
  const batching = options.microBatch ?? { maxWaitMs: 0, maxItems: 1 };
  const providers = options.executionProviders ?? ['cpu'];
  const warn = options.warn ?? (() => {});
  const threads = options.intraOpThreads ?? 1;
  const encoders = new EncoderPool(
    async (source) => {
      const files = encoderFilesOf(await source.files(), source.hash);
      return withExecutionProviders(providers, (executionProviders) => createTextEncoder(files, { intraOpNumThreads: threads, executionProviders }), warn);
    },
    batching,
  );
  return {
    async loadBase(onnxBytes, opts = {}) {
      // n-gram bases: calls of the same turn share a run, with no wait (the timer is for encoders).
      if (opts.encoder === undefined) return rowBatchedBase(await createOnnxBase(onnxBytes, { intraOpThreads: threads }), batching.maxItems);
      const hash = opts.encoder.hash;
      const encoder = await encoders.acquire(opts.encoder);
      try {
        const base = await createOnnxBase(onnxBytes, { intraOpThreads: threads, encoder });
        // The encoder's runs are micro-batched across versions (EncoderPool); the calls of one turn
        // on a classifier also share its head run, or every request would still pay a run of its own.
        return rowBatchedBase({ baseVersion: base.baseVersion, createClassifier: (bytes, manifest) => base.createClassifier(bytes, manifest), release: async () => { await base.release(); await encoders.release(hash); } }, batching.maxItems);
      } catch (err) {
        await encoders.release(hash);
        throw err;
      }
    },
    async loadImported(source, labels) {
      const files = encoderFilesOf(await source.files(), source.hash);
      const classifier = await withExecutionProviders(providers, (executionProviders) => createImportedClassifier(files, labels, { intraOpNumThreads: threads, executionProviders }), warn);
      return importedBase(classifier, `imported-${source.hash.slice(0, 16)}`, batching);
    },
    close: () => encoders.closeAll(),
  };
};
