import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { makeEvent, outcomeOf, teachingLabel, type EventOf } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import type { RetrainLease, RetrainLeases } from '@flywheel/redis';
import { evaluateRules, windowAccuracy, type Firing, type ModelStats } from './evaluateRules.js';
import type { Ledger } from './ports.js';
import type { CounterSnapshot } from './redisCounters.js';
import type { RetrainRules } from '@flywheel/contracts';

/** `source` of the triggers the aggregator publishes. */
export const AGGREGATOR_SOURCE = '/flywheel/aggregator';

/** What one assessment of a model decided. */
export interface Assessment {
  model: string;
  snapshot: CounterSnapshot;
  accuracy: number | null;
  /** A trigger fired: committed with its outbox row (the relay publishes it). */
  fired?: { id: string; event: EventOf<'retrainingTriggers'>; firing: Firing };
  /** A rule fired while the model was already training (recorded once per lock holder). */
  suppressed?: { firing: Firing; holderToken: number | null; firstForHolder: boolean };
}

const num = z.coerce.number();
const ModelRow = z.object({ version: num, last_trigger_at: z.date().nullable(), peak_accuracy: z.number().nullable() });
const StatRow = z.object({ kind: z.string(), label: z.string().nullable(), n: num, oldest: z.date(), max_seq: num.nullable() });

const emptySnapshot = (version: number): CounterSnapshot => ({ version, pendingCorrections: 0, pendingFeedback: 0, windowTotal: 0, windowCorrect: 0, labels: {} });

/**
 * The aggregator's PostgreSQL ledger: exact, deduplicated counts per model, and the triggers.
 * Every change of a model happens under its aggregator_models row lock, so instances that see
 * the same model at once (a rebalance, duplicate deliveries) take turns and decide once.
 */
export class PgLedger implements Ledger {
  constructor(private readonly deps: { pool: Pool; leases: Pick<RetrainLeases, 'acquire' | 'holder' | 'release'>; lockTtlMs: number; rulesFor: (model: string) => RetrainRules; topicSource?: string }) {}

  /** Records a feedback event once; a new one is assessed against the rules in the same transaction. Returns undefined for a duplicate. */
  async record(e: EventOf<'feedback'>, now = new Date()): Promise<Assessment | undefined> {
    return this.inTransaction(async (c, leases) => {
      const outcome = outcomeOf(e.data);
      const inserted = await c.query(
        `INSERT INTO aggregator_feedback (event_id, model, kind, label, correct, sequence) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id) DO NOTHING RETURNING seq`,
        [e.id, e.subject, e.data.kind, teachingLabel(e.data) ?? null, outcome ?? null, e.data.sequence ?? null],
      );
      if (inserted.rowCount === 0) return undefined;
      return this.assess(c, e.subject, now, leases);
    });
  }

  /** Re-assesses a model with no new event (the schedule rule). */
  async reassess(model: string, now = new Date()): Promise<Assessment> {
    return this.inTransaction((c, leases) => this.assess(c, model, now, leases));
  }

  /**
   * Records another service's trigger (manual, drift): the pending feedback it covers goes into
   * training with its token, so the rules start counting again from zero. Idempotent by event id.
   */
  async recordExternalTrigger(e: EventOf<'retrainingTriggers'>): Promise<Assessment | undefined> {
    return this.inTransaction(async (c) => {
      const ins = await c.query(
        `INSERT INTO aggregator_triggers (id, model, reason, status, fencing_token, details) VALUES ($1, $2, $3, 'external', $4, $5)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [e.id, e.subject, e.data.reason, e.data.fencingToken, JSON.stringify({ ...e.data.details, source: e.source, requestedBy: e.data.requestedBy })],
      );
      if (ins.rowCount === 0) return undefined;
      const m = await this.lockModel(c, e.subject);
      await c.query(
        `UPDATE aggregator_feedback SET trigger_token = $2 WHERE model = $1 AND trigger_token IS NULL AND ($3::bigint IS NULL OR sequence IS NULL OR sequence <= $3)`,
        [e.subject, e.data.fencingToken, e.data.feedbackWatermark ?? null],
      );
      await c.query('UPDATE aggregator_models SET last_trigger_at = $2, peak_accuracy = NULL WHERE model = $1', [e.subject, e.time]);
      const { stats, snapshot } = await this.stats(c, e.subject, m.version);
      return { model: e.subject, snapshot, accuracy: windowAccuracy(stats, this.deps.rulesFor(e.subject)) };
    });
  }

  /** Models whose pending feedback is old enough for the schedule rule to look at. */
  async modelsDueForSchedule(maxDaysFor: (model: string) => number): Promise<string[]> {
    const rows = (await this.deps.pool.query(
      `SELECT m.model, COALESCE(m.last_trigger_at, min(f.received_at)) AS since FROM aggregator_models m
       JOIN aggregator_feedback f ON f.model = m.model AND f.trigger_token IS NULL
       GROUP BY m.model, m.last_trigger_at`,
    )).rows.map((r) => z.object({ model: z.string(), since: z.date() }).parse(r));
    const now = Date.now();
    return rows.filter((r) => now - r.since.getTime() >= maxDaysFor(r.model) * 86_400_000).map((r) => r.model);
  }

  /** Current snapshots of every model, read consistently, for rebuilding lost Redis counters. */
  async allSnapshots(): Promise<{ model: string; snapshot: CounterSnapshot; accuracy: number | null }[]> {
    const models = (await this.deps.pool.query('SELECT model FROM aggregator_models')).rows.map((r) => z.object({ model: z.string() }).parse(r).model);
    const out: { model: string; snapshot: CounterSnapshot; accuracy: number | null }[] = [];
    for (const model of models) {
      const client = await this.deps.pool.connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const m = ModelRow.parse((await client.query('SELECT version, last_trigger_at, peak_accuracy FROM aggregator_models WHERE model = $1', [model])).rows[0]);
        const { stats, snapshot } = await this.stats(client, model, m.version);
        await client.query('COMMIT');
        out.push({ model, snapshot, accuracy: windowAccuracy(stats, this.deps.rulesFor(model)) });
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    }
    return out;
  }

  // Runs fn in a transaction; a retraining lease taken inside is given back if the transaction fails.
  private async inTransaction<T>(fn: (c: PoolClient, leases: RetrainLease[]) => Promise<T>): Promise<T> {
    const leases: RetrainLease[] = [];
    try {
      return await withTransaction(this.deps.pool, (c) => fn(c, leases));
    } catch (err) {
      for (const l of leases) await this.deps.leases.release(l).catch(() => {});
      throw err;
    }
  }

  private async lockModel(c: PoolClient, model: string) {
    return ModelRow.parse((await c.query(
      `INSERT INTO aggregator_models (model, version) VALUES ($1, 1)
       ON CONFLICT (model) DO UPDATE SET version = aggregator_models.version + 1
       RETURNING version, last_trigger_at, peak_accuracy`,
      [model],
    )).rows[0]);
  }

  private async stats(c: PoolClient, model: string, version: number) {
    const rules = this.deps.rulesFor(model);
    const groups = (await c.query(
      `SELECT kind, label, count(*) AS n, min(received_at) AS oldest, max(sequence) AS max_seq FROM aggregator_feedback
       WHERE model = $1 AND trigger_token IS NULL GROUP BY kind, label`,
      [model],
    )).rows.map((r) => StatRow.parse(r));
    const window = (await c.query(
      `SELECT count(*) AS total, count(*) FILTER (WHERE correct) AS correct FROM (
         SELECT correct FROM aggregator_feedback WHERE model = $1 AND trigger_token IS NULL AND correct IS NOT NULL ORDER BY seq DESC LIMIT $2) w`,
      [model, rules.windowSize],
    )).rows[0];
    const w = z.object({ total: num, correct: num }).parse(window);
    const snapshot = emptySnapshot(version);
    let oldest: Date | null = null;
    let maxSequence: number | null = null;
    for (const g of groups) {
      snapshot.pendingFeedback += g.n;
      if (g.kind === 'misclassification') snapshot.pendingCorrections += g.n;
      if (g.label !== null) snapshot.labels[g.label] = (snapshot.labels[g.label] ?? 0) + g.n;
      if (!oldest || g.oldest < oldest) oldest = g.oldest;
      if (g.max_seq !== null) maxSequence = Math.max(maxSequence ?? 0, g.max_seq);
    }
    snapshot.windowTotal = w.total;
    snapshot.windowCorrect = w.correct;
    return { snapshot, oldest, maxSequence, stats: { windowTotal: w.total, windowCorrect: w.correct } };
  }

  private async assess(c: PoolClient, model: string, now: Date, leases: RetrainLease[]): Promise<Assessment> {
    const rules = this.deps.rulesFor(model);
    const m = await this.lockModel(c, model);
    const { snapshot, oldest, maxSequence } = await this.stats(c, model, m.version);
    const accuracy = windowAccuracy(snapshot, rules);
    let peak = m.peak_accuracy;
    if (accuracy !== null && (peak === null || accuracy > peak)) {
      peak = accuracy;
      await c.query('UPDATE aggregator_models SET peak_accuracy = $2 WHERE model = $1', [model, peak]);
    }
    const stats: ModelStats = { ...snapshot, peakAccuracy: peak, lastTriggerAt: m.last_trigger_at, oldestPendingAt: oldest };
    const firing = evaluateRules(stats, rules, now);
    if (!firing) return { model, snapshot, accuracy };

    const lease = await this.deps.leases.acquire(model, this.deps.lockTtlMs);
    if (!lease) {
      const holderToken = (await this.deps.leases.holder(model)) ?? null;
      const ins = await c.query(
        `INSERT INTO aggregator_triggers (id, model, reason, status, fencing_token, details) VALUES ($1, $2, $3, 'suppressed', $4, $5)
         ON CONFLICT (model, fencing_token) WHERE status = 'suppressed' DO NOTHING RETURNING id`,
        [randomUUID(), model, firing.reason, holderToken, JSON.stringify(firing.details)],
      );
      return { model, snapshot, accuracy, suppressed: { firing, holderToken, firstForHolder: ins.rowCount === 1 } };
    }
    leases.push(lease);
    const id = randomUUID();
    const event = makeEvent('retrainingTriggers', {
      id,
      source: this.deps.topicSource ?? AGGREGATOR_SOURCE,
      subject: model,
      data: { reason: firing.reason, details: firing.details, requestedBy: 'aggregator', fencingToken: lease.token, ...(maxSequence !== null ? { feedbackWatermark: maxSequence } : {}) },
      time: now,
    });
    await c.query(
      `INSERT INTO aggregator_triggers (id, model, reason, status, fencing_token, details) VALUES ($1, $2, $3, 'fired', $4, $5)`,
      [id, model, firing.reason, lease.token, JSON.stringify(firing.details)],
    );
    // The announcement commits with the decision: no trigger is decided and never sent.
    await enqueueInTx(c, { topic: 'retrainingTriggers', event });
    // The counted feedback goes into training with this token, atomically with the trigger row.
    await c.query('UPDATE aggregator_feedback SET trigger_token = $2 WHERE model = $1 AND trigger_token IS NULL', [model, lease.token]);
    await c.query('UPDATE aggregator_models SET last_trigger_at = $2, peak_accuracy = NULL WHERE model = $1', [model, now]);
    return { model, snapshot: emptySnapshot(m.version), accuracy: null, fired: { id, event, firing } };
  }
}
