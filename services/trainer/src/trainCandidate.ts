import {
  continueTraining,
  deserializeTrainingState,
  evaluateState,
  exportAdapter,
  exportBaseOnnx,
  initBackend,
  serializeTrainingState,
  type DeepPartial,
  type Example,
  type TrainOptions,
} from '@flywheel/learning';
import type { Metrics } from '@flywheel/contracts';
import type { CandidateScores } from './gates.js';

/** Everything one training run needs; structured-cloneable so it can cross into a worker thread. */
export interface CandidateInput {
  model: string;
  /** the version the candidate will get if it passes (written into the adapter manifest) */
  version: string;
  /** the champion's serializeTrainingState files (base.bin included) */
  championFiles: Record<string, Uint8Array>;
  train: Example[];
  holdout: Example[];
  freshValidation: Example[];
  options: DeepPartial<TrainOptions>;
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
  scores: CandidateScores;
  metrics: Metrics;
  backend: string;
}

/**
 * Trains a candidate from the champion and scores both on rows neither trained on in this run:
 * the old-data holdout (forgetting) and the fresh validation rows (gain).
 */
export async function trainCandidate(input: CandidateInput): Promise<CandidateOutput> {
  await initBackend();
  const champion = deserializeTrainingState(input.championFiles);
  const evalRows = [...input.holdout, ...input.freshValidation];
  const result = await continueTraining({ base: champion, current: champion }, input.train, {
    ...input.options,
    ...(evalRows.length > 0 ? { validation: evalRows } : {}),
  });
  const candidate = result.state;
  const scoreOn = (rows: Example[]) => (rows.length === 0 ? undefined : { cand: evaluateState(candidate, rows).accuracy, champ: evaluateState(champion, rows).accuracy });
  const all = scoreOn(evalRows);
  const old = scoreOn(input.holdout);
  const fresh = scoreOn(input.freshValidation);
  const scores: CandidateScores = {
    accuracy: all?.cand ?? result.validation.accuracy,
    championAccuracy: all?.champ ?? 0,
    forgetting: old ? Math.max(0, old.champ - old.cand) : 0,
  };
  const metrics: Metrics = {
    accuracy: scores.accuracy,
    championAccuracy: scores.championAccuracy,
    improvement: scores.accuracy - scores.championAccuracy,
    forgetting: scores.forgetting,
    macroF1: result.validation.macroF1,
    trainRows: input.train.length,
    holdoutRows: input.holdout.length,
    freshValidationRows: input.freshValidation.length,
    epochs: result.epochs,
    trainSeconds: result.seconds,
    ...(old ? { oldAccuracy: old.cand, championOldAccuracy: old.champ } : {}),
    ...(fresh ? { newAccuracy: fresh.cand, championNewAccuracy: fresh.champ } : {}),
  };
  const newBase = candidate.baseVersion !== champion.baseVersion;
  return {
    baseVersion: candidate.baseVersion,
    newBase,
    labels: [...candidate.labels],
    labelsAdded: candidate.labels.length > champion.labels.length,
    stateFiles: serializeTrainingState(candidate),
    adapter: exportAdapter(candidate, { version: input.version, modelName: input.model, metrics }),
    baseOnnx: newBase ? exportBaseOnnx(candidate) : undefined,
    scores,
    metrics,
    backend: result.backend,
  };
}
