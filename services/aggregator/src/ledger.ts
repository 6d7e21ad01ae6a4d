import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CLIENT_SOURCE_PREFIX, makeEvent, outcomeOf, teachingLabel, type EventOf } from '@flywheel/contracts';
import { enqueueInTx, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import type { RetrainLease, RetrainLeases } from '@flywheel/redis';
import { evaluateRules, windowAccuracy, type ClientCaps, type Firing, type ModelStats } from './evaluateRules.js';
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
const StatRow = z.object({ kind: z.string(), label: z.string().nullable(), n: num, capped: num, oldest: z.date(), max_seq: num.nullable() });

/**
 * Who an event speaks for: the client feedback-ingest authenticated (with its trust), or the
 * `/clients/<name>` source of an outside producer (always standard). Events from before API keys
 * name no client: they count together, as one standard client.
 */
export const senderOf = (e: EventOf<'feedback'>): { client: string | null; trusted: boolean } => ({
  client: e.data.client ?? (e.source.startsWith(CLIENT_SOURCE_PREFIX) ? e.source.slice(CLIENT_SOURCE_PREFIX.length) : null),
  trusted: e.data.clientTrust === 'trusted',
});

// Rows that count: everything but proposals whose label is not accepted yet ($2: the accepted labels).
const COUNTS = 'model = $1 AND trigger_token IS NULL AND (NOT proposed OR label = ANY($2::text[]))';

const emptySnapshot = (version: number): CounterSnapshot => ({ version, pendingCorrections: 0, pendingFeedback: 0, windowTotal: 0, windowCorrect: 0, labels: {} });

/**
 * The aggregator's PostgreSQL ledger: exact, deduplicated counts per model, and the triggers.
 * Every change of a model happens under its aggregator_models row lock, so instances that see
 * the same model at once (a rebalance, duplicate deliveries) take turns and decide once.
 */
export class PgLedger implements Ledger {
  private labelTable = false;

  /** @param deps.capsFor how many of one standard client's reports count (clientCaps); trusted clients are not capped. */
  constructor(private readonly deps: { pool: Pool; leases: Pick<RetrainLeases, 'acquire' | 'holder' | 'release'>; lockTtlMs: number; rulesFor: (model: string) => RetrainRules; capsFor: (model: string) => ClientCaps; topicSource?: string }) {}

  /** Records a feedback event once; a new one is assessed against the rules in the same transaction. Returns undefined for a duplicate. */
  async record(e: EventOf<'feedback'>, now = new Date()): Promise<Assessment | undefined> {
    return this.inTransaction(async (c, leases) => {
      const outcome = outcomeOf(e.data);
      const sender = senderOf(e);
      const inserted = await c.query(
        `INSERT INTO aggregator_feedback (event_id, model, kind, label, correct, sequence, client, trusted, proposed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (event_id) DO NOTHING RETURNING seq`,
        [e.id, e.subject, e.data.kind, teachingLabel(e.data) ?? null, outcome ?? null, e.data.sequence ?? null, sender.client, sender.trusted, e.data.proposedLabel === true],
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
        `UPDATE aggregator_feedback SET trigger_token = $3 WHERE ${COUNTS} AND ($4::bigint IS NULL OR sequence IS NULL OR sequence <= $4)`,
        [e.subject, await this.acceptedLabels(c, e.subject), e.data.fencingToken, e.data.feedbackWatermark ?? null],
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

  /**
   * Labels feedback-ingest accepted for the model (its proposed_labels table, read-only, in the same
   * deployment schema); empty while that table does not exist yet.
   */
  private async acceptedLabels(c: PoolClient, model: string): Promise<string[]> {
    this.labelTable ||= z.object({ t: z.boolean() }).parse((await c.query("SELECT to_regclass('proposed_labels') IS NOT NULL AS t")).rows[0]).t;
    if (!this.labelTable) return [];
    const { rows } = await c.query('SELECT label FROM proposed_labels WHERE model = $1 AND accepted_at IS NOT NULL', [model]);
    return rows.map((r) => z.object({ label: z.string() }).parse(r).label);
  }

  private async stats(c: PoolClient, model: string, version: number) {
    const rules = this.deps.rulesFor(model);
    const caps = this.deps.capsFor(model);
    const accepted = await this.acceptedLabels(c, model);
    // `capped`: the corrections that count toward the threshold: every trusted one, and each standard
    // client's most recent caps.corrections (null clients, from before API keys, share one cap).
    const groups = (await c.query(
      `SELECT kind, label, count(*) AS n, count(*) FILTER (WHERE trusted OR nth <= $3) AS capped, min(received_at) AS oldest, max(sequence) AS max_seq FROM (
         SELECT kind, label, received_at, sequence, trusted, row_number() OVER (PARTITION BY COALESCE(client, ''), kind ORDER BY seq DESC) AS nth
           FROM aggregator_feedback WHERE ${COUNTS}) f
       GROUP BY kind, label`,
      [model, accepted, caps.corrections],
    )).rows.map((r) => StatRow.parse(r));
    // The outcome window: the most recent outcomes, each standard client contributing at most caps.window.
    const window = (await c.query(
      `SELECT count(*) AS total, count(*) FILTER (WHERE correct) AS correct FROM (
         SELECT correct FROM (
           SELECT correct, seq, trusted, row_number() OVER (PARTITION BY COALESCE(client, '') ORDER BY seq DESC) AS nth
             FROM aggregator_feedback WHERE ${COUNTS} AND correct IS NOT NULL) o
          WHERE trusted OR nth <= $4 ORDER BY seq DESC LIMIT $3) w`,
      [model, accepted, rules.windowSize, caps.window],
    )).rows[0];
    const w = z.object({ total: num, correct: num }).parse(window);
    const snapshot = emptySnapshot(version);
    let oldest: Date | null = null;
    let maxSequence: number | null = null;
    for (const g of groups) {
      snapshot.pendingFeedback += g.n;
      if (g.kind === 'misclassification') snapshot.pendingCorrections += g.capped;
      if (g.label !== null) snapshot.labels[g.label] = (snapshot.labels[g.label] ?? 0) + g.n;
      if (!oldest || g.oldest < oldest) oldest = g.oldest;
      if (g.max_seq !== null) maxSequence = Math.max(maxSequence ?? 0, g.max_seq);
    }
    snapshot.windowTotal = w.total;
    snapshot.windowCorrect = w.correct;
    return { snapshot, oldest, maxSequence, accepted, stats: { windowTotal: w.total, windowCorrect: w.correct } };
  }

  private async assess(c: PoolClient, model: string, now: Date, leases: RetrainLease[]): Promise<Assessment> {
    const rules = this.deps.rulesFor(model);
    const m = await this.lockModel(c, model);
    const { snapshot, oldest, maxSequence, accepted } = await this.stats(c, model, m.version);
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
    // Proposals whose label is not accepted stay pending: they count once it is.
    await c.query(`UPDATE aggregator_feedback SET trigger_token = $3 WHERE ${COUNTS}`, [model, accepted, lease.token]);
    await c.query('UPDATE aggregator_models SET last_trigger_at = $2, peak_accuracy = NULL WHERE model = $1', [model, now]);
    return { model, snapshot: emptySnapshot(m.version), accuracy: null, fired: { id, event, firing } };
  }
}
