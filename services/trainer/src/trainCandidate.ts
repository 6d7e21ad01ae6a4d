import type { Metrics } from '@flywheel/contracts';
import {
  createImportedClassifier, createTextEncoder, deserializeTrainingState, exportAdapter, exportBaseOnnx, FileEmbeddingCache, serializeTrainingState,
  type CandidateScores, type DeepPartial, type Example, type TextEncoder, type TrainingState, type TrainOptions,
} from '@flywheel/learning';
import { distillImportedCandidate, initBackend, trainCandidate as trainAndScore, trainEncoderCandidate, type CandidateDataSettings } from '@flywheel/learning/train';
import { Failed } from '@flywheel/runtime';
import { encoderFilesOf } from './encoderFiles.js';

/** How a job on an encoder base embeds: a cache that outlives the job (a retrain embeds only new texts) and onnxruntime's threads. */
export interface EmbeddingSettings {
  /** folder of the persistent embedding cache, one file per encoder hash */
  cacheDir: string;
  /** most bytes the cache folder may hold (unbounded when absent) */
  cacheMaxBytes?: number;
  /** onnxruntime intra-op threads (onnxruntime's choice when absent) */
  threads?: number;
  /** texts per encoder run */
  batchSize?: number;
}

/** Everything one training run needs; structured-cloneable so it can cross into a worker thread. */
export interface CandidateInput {
  model: string;
  /** the version the candidate will get if it passes (written into the adapter manifest) */
  version: string;
  /** the champion's serializeTrainingState files (base.bin included); empty for an imported classifier */
  championFiles: Record<string, Uint8Array>;
  /** the frozen encoder folder (files by name) of an encoder-base champion, or the one an imported classifier's successor trains on */
  encoder?: { files: Record<string, Uint8Array> };
  /** an imported classifier champion (its folder by name and labels): the teacher of its first successor */
  teacher?: { files: Record<string, Uint8Array>; labels: string[] };
  embeddings?: EmbeddingSettings;
  /** new rows since the champion (corrections, confirmations, pseudo-labels) */
  fresh: Example[];
  /** the champion's dataset snapshot */
  previous: Example[];
  options: DeepPartial<TrainOptions>;
  data: CandidateDataSettings;
}

/** A trained candidate as bytes ready to upload, with its scores. */
export interface CandidateOutput {
  baseVersion: string;
  newBase: boolean;
  labels: string[];
  labelsAdded: boolean;
  stateFiles: Record<string, Uint8Array>;
  adapter: { bytes: Uint8Array; manifest: unknown };
  /** only when the base changed (full mode); otherwise the stored base is reused */
  baseOnnx: Uint8Array | undefined;
  /** rows to store with the version (the next run re-partitions them the same way) */
  snapshot: Example[];
  scores: CandidateScores;
  metrics: Metrics;
  backend: string;
  /** how the update trained (a new base or an adapter on the champion's) and why, for the registry */
  modeReason?: string;
}

/** A trained and scored state, whichever path trained it. */
interface Trained {
  state: TrainingState;
  metrics: Record<string, number>;
  scores: CandidateScores;
  snapshot: Example[];
  backend: string;
  modeReason?: string;
}

/** Opens the encoder and its cache for one run; `close` releases both. */
async function openEncoder(input: CandidateInput): Promise<{ encoder: TextEncoder; cache: FileEmbeddingCache | undefined; close: () => Promise<void> }> {
  if (input.encoder === undefined) throw new Failed(`${input.model}'s champion runs on an encoder base but the job carried no encoder files; its manifest lost its encoder reference: re-register the model (flywheel import --encoder)`);
  const e = input.embeddings;
  const encoder = await createTextEncoder(encoderFilesOf(input.encoder.files), { ...(e?.threads !== undefined ? { intraOpNumThreads: e.threads } : {}), ...(e?.batchSize !== undefined ? { batchSize: e.batchSize } : {}) });
  const cache = e !== undefined ? new FileEmbeddingCache(e.cacheDir, e.cacheMaxBytes !== undefined ? { maxBytes: e.cacheMaxBytes } : {}) : undefined;
  return { encoder, cache, close: async () => { await cache?.close(); await encoder.release(); } };
}

/** Picks the path: an imported classifier's first update, an encoder-base update, or an n-gram update (learning's trainCandidate). */
async function trainAny(input: CandidateInput): Promise<{ champion: TrainingState | undefined; trained: Trained }> {
  const backend = await initBackend();
  const data = { fresh: input.fresh, previous: input.previous };
  if (input.teacher !== undefined) {
    const { encoder, cache, close } = await openEncoder(input);
    const classifier = await createImportedClassifier(encoderFilesOf(input.teacher.files), input.teacher.labels, input.embeddings?.threads !== undefined ? { intraOpNumThreads: input.embeddings.threads } : {});
    try {
      const out = await distillImportedCandidate(classifier, data, { encoder, ...(cache ? { cache } : {}) }, input.options, input.data);
      return { champion: undefined, trained: { ...out, backend } };
    } finally {
      await classifier.release();
      await close();
    }
  }
  const champion = deserializeTrainingState(input.championFiles);
  if (champion.model.base?.kind === 'encoder') {
    const { encoder, cache, close } = await openEncoder(input);
    try {
      const out = await trainEncoderCandidate(champion, data, { encoder, ...(cache ? { cache } : {}) }, input.options, input.data);
      return { champion, trained: { ...out, backend } };
    } finally {
      await close();
    }
  }
  const out = await trainAndScore(champion, data, input.options, input.data);
  return { champion, trained: { state: out.state, metrics: out.metrics, scores: out.scores, snapshot: out.snapshot, backend: out.training.backend, ...(out.training.modeReason !== undefined ? { modeReason: out.training.modeReason } : {}) } };
}

/**
 * Trains and scores a candidate with learning's candidate functions (the same ones `pnpm bench:learn`
 * and `bench:encoder` measure), then turns it into the bytes to upload.
 */
export async function trainCandidate(input: CandidateInput): Promise<CandidateOutput> {
  const { champion, trained } = await trainAny(input);
  const candidate = trained.state;
  const metrics: Metrics = { ...trained.metrics, freshRows: input.fresh.length };
  const newBase = champion === undefined || candidate.baseVersion !== champion.baseVersion;
  return {
    baseVersion: candidate.baseVersion,
    newBase,
    labels: [...candidate.labels],
    labelsAdded: champion === undefined ? candidate.labels.some((l) => !(input.teacher?.labels ?? []).includes(l)) : candidate.labels.length > champion.labels.length,
    stateFiles: serializeTrainingState(candidate),
    adapter: exportAdapter(candidate, { version: input.version, modelName: input.model, metrics }),
    baseOnnx: newBase ? exportBaseOnnx(candidate) : undefined,
    snapshot: trained.snapshot,
    scores: trained.scores,
    metrics,
    backend: trained.backend,
    ...(trained.modeReason !== undefined ? { modeReason: trained.modeReason } : {}),
  };
}
