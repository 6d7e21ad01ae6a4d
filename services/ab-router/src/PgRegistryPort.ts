import type { ModelName, ModelVersion } from '@flywheel/contracts';
import type { PgRegistry } from '@flywheel/registry';
import type { VersionFacts } from './forgettingGate.js';
import type { Registry } from './ports.js';

/** Adapts the registry package's PgRegistry to the ab-router's narrow {@link Registry} port. */
export class PgRegistryPort implements Registry {
  constructor(private readonly registry: PgRegistry, private readonly actor = 'ab-router') {}

  async champion(model: ModelName): Promise<ModelVersion | undefined> {
    return (await this.registry.champion(model))?.version;
  }

  async challengers(): Promise<{ model: ModelName; version: ModelVersion }[]> {
    return (await this.registry.listModels()).flatMap((m) => (m.challenger ? [{ model: m.model, version: m.challenger }] : []));
  }

  async promote(model: ModelName, version: ModelVersion, reason: string, expectedChampion?: ModelVersion): Promise<{ previous?: ModelVersion | undefined }> {
    const r = await this.registry.promote(model, version, this.actor, reason, undefined, { expectedChampion });
    return { previous: r.previous };
  }

  async versionFacts(model: ModelName, version: ModelVersion): Promise<VersionFacts | undefined> {
    const r = await this.registry.version(model, version);
    return r && { version: r.version, metrics: r.metrics, parentVersion: r.parentVersion, status: r.status };
  }

  async reject(model: ModelName, version: ModelVersion, reason: string): Promise<void> {
    await this.registry.reject(model, version, this.actor, reason);
  }

  async rollback(model: ModelName, reason: string, automatic: boolean, expectedChampion: ModelVersion): Promise<{ version: ModelVersion; from: ModelVersion }> {
    const r = await this.registry.rollback(model, automatic ? `${this.actor} (automatic)` : this.actor, reason, undefined, { expectedChampion });
    return { version: r.champion.version, from: r.from };
  }
}
