import type { ModelName, ModelVersion } from '@flywheel/contracts';
import type { VersionFacts } from './forgettingGate.js';
import type { Experiment, OutcomeReport, RecordedPrediction } from './PgExperimentStore.js';

/**
 * What the ab-router needs from the model registry. Narrow on purpose: the registry package's
 * client is adapted to it in main.ts, tests pass a hand-written fake.
 */
export interface Registry {
  /** The version serving answers with by default, if the model has one. */
  champion(model: ModelName): Promise<ModelVersion | undefined>;
  /** Every model's registered challenger (models without one are left out). */
  challengers(): Promise<{ model: ModelName; version: ModelVersion }[]>;
  /**
   * challenger → champion; the previous champion is archived. Returns the version it replaced.
   * With `expectedChampion`: Conflict when the champion is another version by then (compare-and-set).
   */
  promote(model: ModelName, version: ModelVersion, reason: string, expectedChampion?: ModelVersion): Promise<{ previous?: ModelVersion | undefined }>;
  /** What the registry recorded about a version (gate metrics, parent), for the forgetting gate; undefined when unknown. */
  versionFacts(model: ModelName, version: ModelVersion): Promise<VersionFacts | undefined>;
  /** challenger → archived. */
  reject(model: ModelName, version: ModelVersion, reason: string): Promise<void>;
  /**
   * The previous champion comes back, the current one becomes rolled_back; returns which version now
   * serves and which one it replaced. Conflict when the champion is not `expectedChampion` (compare-and-set).
   */
  rollback(model: ModelName, reason: string, automatic: boolean, expectedChampion: ModelVersion): Promise<{ version: ModelVersion; from: ModelVersion }>;
}

/** Where the handlers record predictions and outcomes (PgExperimentStore). */
export interface Outcomes {
  running(model: string): Promise<Experiment | undefined>;
  recordPrediction(p: RecordedPrediction): Promise<void>;
  recordOutcome(report: OutcomeReport): Promise<void>;
}

/** The guarded champion of each model. */
export interface GuardedChampions {
  current(model: string): Promise<string | undefined>;
  adopt(model: string, version: string): Promise<void>;
}

/** Starting and stopping experiments (the lifecycle). */
export interface Experiments {
  running(model: string): Promise<Experiment | undefined>;
  start(model: string, challengerVersion: string): Promise<unknown>;
  stop(id: string, reason: string): Promise<unknown>;
}
