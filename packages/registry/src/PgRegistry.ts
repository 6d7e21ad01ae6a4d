import { Conflict, NotFound } from '@flywheel/runtime';
import { withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import { ModelName, ModelVersion, type Metrics } from '@flywheel/contracts';
import { z } from 'zod';
import { toHistoryRecord, toVersionRecord, VersionStatus, type HistoryRecord, type ModelRecord, type NewVersion, type VersionRecord } from './records.js';
import { bumpVersion, parseSemver, type VersionChange } from './semver.js';

const VERSION_COLUMNS = 'model, version, status, base_version, parent_version, labels, metrics, artifact, created_at, updated_at';
type Queryable = Pick<PoolClient, 'query'>;

/** A compare-and-set guard for promote and rollback: refuse unless this version is the champion when the change applies. */
export interface ChampionExpectation {
  expectedChampion?: ModelVersion | undefined;
}

/**
 * The model registry over PostgreSQL. Every status move runs in one transaction that first locks
 * the model's row, so concurrent promote/reject/rollback of one model are serialized, and appends
 * exactly one history row per version whose status changes.
 */
export class PgRegistry {
  constructor(private readonly pool: Pool) {}

  /** Creates the model row if missing (idempotent). */
  async ensureModel(model: ModelName, description?: string): Promise<void> {
    await this.pool.query('INSERT INTO registry_models (model, description) VALUES ($1, $2) ON CONFLICT (model) DO NOTHING', [ModelName.parse(model), description ?? null]);
  }

  /** Every model with its champion, challenger and number of versions. */
  async listModels(): Promise<ModelRecord[]> {
    const { rows } = await this.pool.query(`
      SELECT m.model, m.description, m.created_at,
             (SELECT version FROM registry_versions v WHERE v.model = m.model AND v.status = 'champion') AS champion,
             (SELECT version FROM registry_versions v WHERE v.model = m.model AND v.status = 'challenger') AS challenger,
             (SELECT count(*)::int FROM registry_versions v WHERE v.model = m.model) AS versions
      FROM registry_models m ORDER BY m.model`);
    const Row = z.object({ model: ModelName, description: z.string().nullable(), created_at: z.date(), champion: ModelVersion.nullable(), challenger: ModelVersion.nullable(), versions: z.number() });
    return rows.map((raw) => {
      const r = Row.parse(raw);
      return { model: r.model, description: r.description ?? undefined, createdAt: r.created_at, champion: r.champion ?? undefined, challenger: r.challenger ?? undefined, versions: r.versions };
    });
  }

  /** A model's versions, newest first. */
  async versions(model: ModelName): Promise<VersionRecord[]> {
    const { rows } = await this.pool.query(`SELECT ${VERSION_COLUMNS} FROM registry_versions WHERE model = $1 ORDER BY major DESC, minor DESC, patch DESC`, [model]);
    return rows.map(toVersionRecord);
  }

  async version(model: ModelName, version: ModelVersion): Promise<VersionRecord | undefined> {
    return this.one(this.pool, 'model = $1 AND version = $2', [model, version]);
  }

  async hasVersion(model: string, version: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM registry_versions WHERE model = $1 AND version = $2', [model, version]);
    return (rowCount ?? 0) > 0;
  }

  async champion(model: ModelName): Promise<VersionRecord | undefined> {
    return this.one(this.pool, "model = $1 AND status = 'champion'", [model]);
  }

  async challenger(model: ModelName): Promise<VersionRecord | undefined> {
    return this.one(this.pool, "model = $1 AND status = 'challenger'", [model]);
  }

  /** The append-only log of status moves, oldest first (the last `limit` rows when given). */
  async history(model: ModelName, opts: { limit?: number } = {}): Promise<HistoryRecord[]> {
    const { rows } = await this.pool.query(
      `SELECT * FROM (SELECT id, model, version, from_status, to_status, actor, reason, metrics, at FROM registry_history
        WHERE model = $1 ORDER BY id DESC LIMIT $2) h ORDER BY id`,
      [model, opts.limit ?? 10_000],
    );
    return rows.map(toHistoryRecord);
  }

  /** The first history row of one version (its registration: who made it, and how and why it was trained). */
  async registration(model: ModelName, version: ModelVersion): Promise<HistoryRecord | undefined> {
    const { rows } = await this.pool.query(
      `SELECT id, model, version, from_status, to_status, actor, reason, metrics, at FROM registry_history
        WHERE model = $1 AND version = $2 AND from_status IS NULL ORDER BY id LIMIT 1`,
      [model, version],
    );
    return rows[0] === undefined ? undefined : toHistoryRecord(rows[0]);
  }

  /** The version a new training run of `model` should get (see bumpVersion). */
  async nextVersion(model: ModelName, change: VersionChange): Promise<ModelVersion> {
    const { rows } = await this.pool.query('SELECT version FROM registry_versions WHERE model = $1 ORDER BY major DESC, minor DESC, patch DESC LIMIT 1', [model]);
    const latest = z.object({ version: z.string() }).optional().parse(rows[0])?.version;
    return bumpVersion(latest, change);
  }

  /** Version counts per model and status (for the flywheel_registry_versions gauge). */
  async countByStatus(): Promise<{ model: ModelName; status: VersionStatus; count: number }[]> {
    const { rows } = await this.pool.query('SELECT model, status, count(*)::int AS count FROM registry_versions GROUP BY model, status');
    return rows.map((r) => z.object({ model: ModelName, status: VersionStatus, count: z.number() }).parse(r));
  }

  /**
   * Inserts a version as `registered`. Registering the same version with the same artifact again
   * returns the existing row (a retried job); a different artifact under that version is a Conflict.
   */
  async register(v: NewVersion): Promise<VersionRecord> {
    return withTransaction(this.pool, async (c) => (await this.insert(c, v)).record);
  }

  /** Registers a version and makes it the challenger; a previous challenger is deprecated ("superseded"). */
  async registerChallenger(v: NewVersion): Promise<{ version: VersionRecord; superseded: ModelVersion | undefined }> {
    return withTransaction(this.pool, async (c) => {
      const { record } = await this.insert(c, v);
      if (record.status === 'challenger') return { version: record, superseded: undefined };
      if (record.status !== 'registered') throw new Conflict(`${v.model}@${v.version} is already ${record.status}; register a new version instead`);
      const old = await this.one(c, "model = $1 AND status = 'challenger'", [v.model]);
      if (old) await this.move(c, old, 'deprecated', v.actor, `superseded by ${v.version}`, old.metrics);
      const version = await this.move(c, record, 'challenger', v.actor, v.reason, v.metrics);
      return { version, superseded: old?.version };
    });
  }

  /** Registers a version straight as champion (bootstrap); the previous champion is archived. */
  async registerChampion(v: NewVersion): Promise<{ version: VersionRecord; previous: ModelVersion | undefined }> {
    return withTransaction(this.pool, async (c) => {
      const { record } = await this.insert(c, v);
      if (record.status === 'champion') return { version: record, previous: undefined };
      const { champion, previous } = await this.makeChampion(c, record, v.actor, v.reason, v.metrics);
      return { version: champion, previous };
    });
  }

  /**
   * Makes `version` the champion (from challenger, registered, archived or rolled_back: an admin may
   * bring back a version a rollback took out); the current champion is archived so it can be rolled
   * back to. Promoting the champion again changes nothing. With `expectedChampion` it is a
   * compare-and-set: Conflict when another version became champion meanwhile.
   */
  async promote(model: ModelName, version: ModelVersion, actor: string, reason: string, metrics?: Metrics, opts: ChampionExpectation = {}): Promise<{ champion: VersionRecord; previous: ModelVersion | undefined; changed: boolean }> {
    return withTransaction(this.pool, async (c) => {
      await this.lockModel(c, model);
      const target = await this.must(c, model, version);
      if (target.status === 'champion') return { champion: target, previous: undefined, changed: false };
      if (target.status === 'deprecated') throw new Conflict(`${model}@${version} is deprecated and cannot be promoted; train or register a new version`);
      await this.expectChampion(c, model, opts.expectedChampion, `promote ${version}`);
      const out = await this.makeChampion(c, target, actor, reason, metrics ?? target.metrics);
      return { ...out, changed: true };
    });
  }

  /** Rejects a challenger (or registered version): it becomes deprecated. Rejecting it again changes nothing. */
  async reject(model: ModelName, version: ModelVersion, actor: string, reason: string, metrics?: Metrics): Promise<{ version: VersionRecord; changed: boolean }> {
    return withTransaction(this.pool, async (c) => {
      await this.lockModel(c, model);
      const target = await this.must(c, model, version);
      if (target.status === 'deprecated') return { version: target, changed: false };
      if (target.status !== 'challenger' && target.status !== 'registered') {
        throw new Conflict(`${model}@${version} is ${target.status}; only a challenger or registered version can be rejected (use rollback for the champion)`);
      }
      return { version: await this.move(c, target, 'deprecated', actor, reason, metrics ?? target.metrics), changed: true };
    });
  }

  /**
   * Brings back the previous champion: the current champion becomes `rolled_back` (it must not come
   * back by itself, an admin may promote it again) and the most recent former champion still
   * archived becomes champion. With `expectedChampion` it is a compare-and-set on the version being
   * rolled back: of two concurrent rollbacks that saw the same champion, only one applies.
   */
  async rollback(model: ModelName, actor: string, reason: string, metrics?: Metrics, opts: ChampionExpectation = {}): Promise<{ champion: VersionRecord; from: ModelVersion }> {
    return withTransaction(this.pool, async (c) => {
      await this.lockModel(c, model);
      const current = await this.one(c, "model = $1 AND status = 'champion'", [model]);
      if (!current) throw new NotFound(`model ${model} has no champion to roll back; bootstrap or promote a version first`);
      await this.expectChampion(c, model, opts.expectedChampion, 'roll back');
      const { rows } = await c.query(
        `SELECT h.version FROM registry_history h JOIN registry_versions v ON v.model = h.model AND v.version = h.version
          WHERE h.model = $1 AND h.to_status = 'champion' AND v.status = 'archived' AND h.version <> $2
          ORDER BY h.id DESC LIMIT 1`,
        [model, current.version],
      );
      const prevVersion = z.object({ version: ModelVersion }).optional().parse(rows[0])?.version;
      if (prevVersion === undefined) throw new Conflict(`model ${model} has no previous champion to roll back to (current: ${current.version})`);
      const prev = await this.must(c, model, prevVersion);
      await this.move(c, current, 'rolled_back', actor, reason, metrics ?? current.metrics);
      const champion = await this.move(c, prev, 'champion', actor, `rollback from ${current.version}: ${reason}`, prev.metrics);
      return { champion, from: current.version };
    });
  }

  /** Conflict (not retriable: decide again on fresh state) when the model's champion is not `expected`. Runs under the model lock. */
  private async expectChampion(c: Queryable, model: string, expected: ModelVersion | undefined, what: string): Promise<void> {
    if (expected === undefined) return;
    const current = (await this.one(c, "model = $1 AND status = 'champion'", [model]))?.version;
    if (current === expected) return;
    throw new Conflict(
      `cannot ${what} of ${model}: the champion is ${current ?? 'none'}, not ${expected} as expected (changed meanwhile); look again (flywheel versions ${model}) and decide on the current champion`,
      { reason: 'champion_changed' },
    );
  }

  private async makeChampion(c: PoolClient, target: VersionRecord, actor: string, reason: string, metrics: Metrics): Promise<{ champion: VersionRecord; previous: ModelVersion | undefined }> {
    const current = await this.one(c, "model = $1 AND status = 'champion'", [target.model]);
    if (current) await this.move(c, current, 'archived', actor, `replaced by ${target.version}`, current.metrics);
    const champion = await this.move(c, target, 'champion', actor, reason, metrics);
    return { champion, previous: current?.version };
  }

  private async insert(c: PoolClient, v: NewVersion): Promise<{ record: VersionRecord; inserted: boolean }> {
    const model = ModelName.parse(v.model);
    const [major, minor, patch] = parseSemver(v.version);
    await c.query('INSERT INTO registry_models (model) VALUES ($1) ON CONFLICT (model) DO NOTHING', [model]);
    await this.lockModel(c, model);
    const existing = await this.one(c, 'model = $1 AND version = $2', [model, v.version]);
    if (existing) {
      if (existing.artifact.sha256 === v.artifact.sha256) return { record: existing, inserted: false };
      throw new Conflict(`${model}@${v.version} is already registered with another artifact; ask nextVersion() for a fresh version`);
    }
    const { rows } = await c.query(
      `INSERT INTO registry_versions (model, version, major, minor, patch, status, base_version, parent_version, labels, metrics, artifact)
       VALUES ($1, $2, $3, $4, $5, 'registered', $6, $7, $8, $9, $10) RETURNING ${VERSION_COLUMNS}`,
      [model, v.version, major, minor, patch, v.baseVersion, v.parentVersion ?? null, JSON.stringify(v.labels), JSON.stringify(v.metrics), JSON.stringify(v.artifact)],
    );
    await this.appendHistory(c, model, v.version, null, 'registered', v.actor, v.reason, v.metrics);
    return { record: toVersionRecord(rows[0]), inserted: true };
  }

  private async move(c: PoolClient, from: VersionRecord, to: VersionStatus, actor: string, reason: string, metrics: Metrics): Promise<VersionRecord> {
    const { rows } = await c.query(
      `UPDATE registry_versions SET status = $3, updated_at = now() WHERE model = $1 AND version = $2 RETURNING ${VERSION_COLUMNS}`,
      [from.model, from.version, to],
    );
    await this.appendHistory(c, from.model, from.version, from.status, to, actor, reason, metrics);
    return toVersionRecord(rows[0]);
  }

  private async appendHistory(c: Queryable, model: string, version: string, from: VersionStatus | null, to: VersionStatus, actor: string, reason: string, metrics: Metrics): Promise<void> {
    await c.query(
      'INSERT INTO registry_history (model, version, from_status, to_status, actor, reason, metrics) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [model, version, from, to, actor.slice(0, 200), reason.slice(0, 4000), JSON.stringify(metrics)],
    );
  }

  private async lockModel(c: PoolClient, model: string): Promise<void> {
    const { rowCount } = await c.query('SELECT 1 FROM registry_models WHERE model = $1 FOR UPDATE', [model]);
    if (!rowCount) throw new NotFound(`model ${model} is not registered; bootstrap it first (flywheel bootstrap --model ${model} ...)`);
  }

  private async must(c: Queryable, model: string, version: string): Promise<VersionRecord> {
    const v = await this.one(c, 'model = $1 AND version = $2', [model, version]);
    if (!v) throw new NotFound(`${model}@${version} is not registered; list versions with: flywheel versions ${model}`);
    return v;
  }

  private async one(c: Queryable, where: string, params: unknown[]): Promise<VersionRecord | undefined> {
    const { rows } = await c.query(`SELECT ${VERSION_COLUMNS} FROM registry_versions WHERE ${where}`, params);
    return rows[0] === undefined ? undefined : toVersionRecord(rows[0]);
  }
}
