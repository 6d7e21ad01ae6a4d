import type { ModelName, ModelVersion } from '@flywheel/contracts';

/**
 * What the ab-router needs from the model registry. Narrow on purpose: the registry package's
 * client is adapted to it in main.ts, tests pass a hand-written fake.
 */
export interface Registry {
  /** The version serving answers with by default, if the model has one. */
  champion(model: ModelName): Promise<ModelVersion | undefined>;
  /** challenger → champion; the previous champion is archived. Returns the version it replaced. */
  promote(model: ModelName, version: ModelVersion, reason: string): Promise<{ previous?: ModelVersion | undefined }>;
  /** challenger → archived. */
  reject(model: ModelName, version: ModelVersion, reason: string): Promise<void>;
  /** The previous champion comes back; returns which version now serves and which one it replaced. */
  rollback(model: ModelName, reason: string, automatic: boolean): Promise<{ version: ModelVersion; from: ModelVersion }>;
}
