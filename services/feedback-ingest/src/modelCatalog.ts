import type { PgRegistry } from '@flywheel/registry';

/** The models of this deployment as feedback-ingest needs them: which exist and which labels they know. */
export interface ModelCatalog {
  /**
   * The labels of the model's champion (or of its newest version while none is champion);
   * undefined for a model with no version registered: feedback for it is refused (404).
   */
  labelsOf(model: string): Promise<ReadonlySet<string> | undefined>;
}

/** The registry reads the catalog uses. */
export type CatalogRegistry = Pick<PgRegistry, 'listModels' | 'version' | 'versions'>;

interface Entry {
  version: string;
  labels: ReadonlySet<string>;
}

/**
 * ModelCatalog over the registry tables of the deployment, held in memory and reloaded every
 * `refreshMs`. A model missing from the snapshot triggers a reload (at most once per `missRefreshMs`),
 * so a model bootstrapped a moment ago is found at once while a flood of made-up names costs at
 * most one registry read per interval. Concurrent reloads share one read.
 */
export class RegistryCatalog implements ModelCatalog {
  private models = new Map<string, Entry>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | undefined;

  constructor(private readonly registry: CatalogRegistry, private readonly opts: { refreshMs: number; missRefreshMs?: number; now?: () => number }) {}

  async labelsOf(model: string): Promise<ReadonlySet<string> | undefined> {
    const age = this.now() - this.loadedAt;
    if (age >= this.opts.refreshMs || (!this.models.has(model) && age >= (this.opts.missRefreshMs ?? 1_000))) await this.refresh();
    return this.models.get(model)?.labels;
  }

  /** Reloads now (shared by concurrent callers). */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => { this.loading = undefined; });
    return this.loading;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private async load(): Promise<void> {
    const next = new Map<string, Entry>();
    for (const m of await this.registry.listModels()) {
      if (m.versions === 0) continue;
      const known = this.models.get(m.model);
      // A champion's labels never change: reuse them until another version becomes champion.
      if (m.champion !== undefined && known?.version === m.champion) {
        next.set(m.model, known);
        continue;
      }
      const v = m.champion !== undefined ? await this.registry.version(m.model, m.champion) : (await this.registry.versions(m.model))[0];
      if (v) next.set(m.model, { version: v.version, labels: new Set(v.labels) });
    }
    this.models = next;
    this.loadedAt = this.now();
  }
}
