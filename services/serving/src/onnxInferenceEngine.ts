import { createOnnxBase } from '@flywheel/learning';
import type { InferenceEngine } from './ports.js';

/** The InferenceEngine of @flywheel/learning (onnxruntime-node): one session per base, adapters share it. */
export const onnxInferenceEngine = (options: { intraOpThreads?: number } = {}): InferenceEngine => ({
  loadBase: (onnxBytes) => createOnnxBase(onnxBytes, { intraOpThreads: options.intraOpThreads ?? 1 }),
});
