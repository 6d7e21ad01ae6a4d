import type { Metrics } from '@flywheel/contracts';
import { deserializeTrainingState, exportAdapter, exportBaseOnnx, serializeTrainingState, type CandidateScores, type DeepPartial, type Example, type TrainOptions } from '@flywheel/learning';
import { initBackend, trainCandidate as trainAndScore, type CandidateDataSettings } from '@flywheel/learning/train';

/** Everything one training run needs; structured-cloneable so it can cross into a worker thread. */
export interface CandidateInput {
  model: string;
  /** the version the candidate will get if it passes (written into the adapter manifest) */
  version: string;
  /** the champion's serializeTrainingState files (base.bin included) */
  championFiles: Record<string, Uint8Array>;
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
}

/**
 * Trains and scores a candidate with learning's trainCandidate (the same function `pnpm bench:learn`
 * measures), then turns it into the bytes to upload.
 */
export async function trainCandidate(input: CandidateInput): Promise<CandidateOutput> {
  await initBackend();
  const champion = deserializeTrainingState(input.championFiles);
  const out = await trainAndScore(champion, { fresh: input.fresh, previous: input.previous }, input.options, input.data);
  const candidate = out.state;
  const metrics: Metrics = { ...out.metrics, freshRows: input.fresh.length };
  const newBase = candidate.baseVersion !== champion.baseVersion;
  return {
    baseVersion: candidate.baseVersion,
    newBase,
    labels: [...candidate.labels],
    labelsAdded: candidate.labels.length > champion.labels.length,
    stateFiles: serializeTrainingState(candidate),
    adapter: exportAdapter(candidate, { version: input.version, modelName: input.model, metrics }),
    baseOnnx: newBase ? exportBaseOnnx(candidate) : undefined,
    snapshot: out.snapshot,
    scores: out.scores,
    metrics,
    backend: out.training.backend,
  };
}
