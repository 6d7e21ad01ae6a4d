import { createHash, randomUUID } from 'node:crypto';
import { z, ZodError, type ZodIssue } from 'zod';
import type { Client } from '@flywheel/auth';
import { makeEvent, SPEC_VERSION, teachingLabel, topics, type DataOf, type EventOf } from '@flywheel/contracts';
import { OUTBOX_TABLE, withTransaction, type Pool, type PoolClient } from '@flywheel/postgres';
import { Conflict, createMicroBatcher } from '@flywheel/runtime';
import { AcceptedItem, type FeedbackItem } from './httpSchemas.js';
import type { LabelBook } from './labelBook.js';

/** `source` of the events feedback-ingest writes. */
export const INGEST_SOURCE = '/flywheel/feedback-ingest';

/** A retry guard: the caller's key (scoped by route) and a hash of the body it came with. */
export interface Idempotency {
  key: string;
  bodyHash: string;
}

/** Writes accepted feedback; handlers depend on this, not on PostgreSQL. */
export interface FeedbackStore {
  /**
   * Stores the items and their outbox events in one transaction and returns their ids in input
   * order. With an idempotency key already used for the same body, returns the first answer and
   * writes nothing; used for another body, throws Conflict. Invalid items (after filling fields
   * from the logged prediction) throw a ZodError whose paths start with `pathOf(index)`.
   */
  submit(items: readonly FeedbackItem[], opts: SubmitOptions): Promise<Submitted>;
}

export interface SubmitOptions {
  /** The authenticated client: every item records it and its trust level. */
  sender: Client;
  /** The labels each item's model knows (its champion's); a correction naming another label is a proposal (LabelBook). */
  knownLabels: ReadonlyMap<string, ReadonlySet<string>>;
  idempotency?: Idempotency | undefined;
  pathOf: (i: number) => (string | number)[];
}

/** The ids of the accepted items; `replayed` when they come from an earlier request with the same key. */
export interface Submitted {
  items: AcceptedItem[];
  replayed: boolean;
}

/** A stable hash of a parsed body, for idempotency. */
export const hashBody = (body: unknown): string => createHash('sha256').update(JSON.stringify(body) ?? '').digest('hex');

const PredictionRow = z.object({ prediction_id: z.string(), model_version: z.string(), variant: z.string(), label: z.string() });
const AcceptedRows = z.array(AcceptedItem);
const StoredIdempotency = z.object({ body_hash: z.string(), response: z.unknown() });
const InsertedRow = z.object({ id: z.string(), sequence: z.coerce.number() });

/** Drops undefined properties, so optional fields stay absent (exactOptionalPropertyTypes, and smaller JSON). */
const compact = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

// One statement writes the feedback rows and their rows in the shared outbox (atomic on its own; inside the
// idempotency transaction when there is a key). The outbox event gets the row's sequence. The rows
// travel as one JSON array: JSON.stringify is native, where pg's array literals escape every
// element in JavaScript (the event JSON most of all). Written here rather than with enqueueInTx so
// that a 1000-item batch stays one round trip.
const INSERT = `
WITH input AS (
  SELECT * FROM json_to_recordset($1::json) AS r(id uuid, model text, prediction_id uuid, model_version text, variant text, text text, predicted_label text, correct_label text, kind text, reporter text, metadata jsonb, client text, client_trust text, proposed_label boolean, event jsonb)
), f AS (
  INSERT INTO feedback (id, model, prediction_id, model_version, variant, text, predicted_label, correct_label, kind, reporter, metadata, client, client_trust, proposed_label)
  SELECT id, model, prediction_id, model_version, variant, text, predicted_label, correct_label, kind, reporter, metadata, client, client_trust, proposed_label FROM input
  RETURNING id, sequence
), o AS (
  INSERT INTO ${OUTBOX_TABLE} (event_id, topic, key, event)
  SELECT f.id::text, 'feedback', i.model, jsonb_set(i.event, '{data,sequence}', to_jsonb(f.sequence))
  FROM f JOIN input i ON i.id = f.id
  ORDER BY f.sequence
)
SELECT id, sequence FROM f`;

type Built = { item: FeedbackItem; event: EventOf<'feedback'> };

const FEEDBACK_TYPE = topics.feedback.schema.shape.type.value;
const FEEDBACK_SCHEMA_VERSION = topics.feedback.schema.shape.schemaversion.value;

/**
 * Whether an item must pass the event schema again after FeedbackItem.parse. Every other field of
 * FeedbackItem is the event's own schema (feedbackStore.test.ts holds them to that), so an item
 * without these was validated once, at the API, and its event is built without a second parse.
 * predictionId: the event's label rule is stricter (it needs the label filled from the logged
 * prediction); reporter: the event refuses control characters, the API field does not.
 */
const needsEventCheck = (item: FeedbackItem): boolean => item.predictionId !== undefined || item.reporter !== undefined;

/** How concurrent single submissions share statements (see PgFeedbackStore). */
export interface InsertMerging {
  /** rows per merged statement at most; 1 writes each submission on its own */
  maxItems: number;
  /** merged statements in flight at once */
  concurrency: number;
}

/**
 * FeedbackStore over PostgreSQL: feedback + outbox in one statement; idempotency keys and label
 * proposals in the same transaction (the common case, known labels and no key, needs none).
 * Submissions of that common case that arrive in the same event-loop turn, or while earlier
 * statements run, are written as one statement (one commit): a commit per item was what bounded
 * single-item throughput. Each caller still gets only its own rows back, after the commit that
 * holds them; if a merged statement fails, each submission in it is written again on its own, so
 * one bad item fails only its own request.
 */
export class PgFeedbackStore implements FeedbackStore {
  private readonly insertMerged: (built: readonly Built[]) => Promise<AcceptedItem[]>;

  constructor(private readonly pool: Pool, private readonly labels: LabelBook, merging: InsertMerging = { maxItems: 1, concurrency: 1 }) {
    this.insertMerged = createMicroBatcher((built: readonly Built[]) => this.insert(this.pool, built), { maxWaitMs: 0, ...merging });
  }

  async submit(items: readonly FeedbackItem[], opts: SubmitOptions): Promise<Submitted> {
    const filled = await this.fillFromPredictions(items);
    const events = this.buildEvents(filled, opts.sender, opts.pathOf);
    const unknown = this.unknownLabels(events, opts.knownLabels);
    const idem = opts.idempotency;
    if (!idem && unknown.size === 0) return { items: await this.insertMerged(events), replayed: false };
    const write = async (c: PoolClient): Promise<AcceptedItem[]> => this.insert(c, await this.markProposals(c, events, unknown, opts.sender));
    if (!idem) return { items: await withTransaction(this.pool, write), replayed: false };
    return withTransaction(this.pool, async (c) => {
      // A concurrent request with the same key waits here until the first commits or rolls back.
      const claimed = await c.query('INSERT INTO feedback_ingest_idempotency (key, body_hash, status, response) VALUES ($1, $2, 202, $3) ON CONFLICT DO NOTHING RETURNING key', [idem.key, idem.bodyHash, '[]']);
      if (claimed.rowCount === 0) {
        const prior = StoredIdempotency.parse((await c.query('SELECT body_hash, response FROM feedback_ingest_idempotency WHERE key = $1', [idem.key])).rows[0]);
        if (prior.body_hash !== idem.bodyHash) throw new Conflict('this Idempotency-Key was already used with a different body; use a new key for a new request');
        return { items: AcceptedRows.parse(prior.response), replayed: true };
      }
      const out = await write(c);
      await c.query('UPDATE feedback_ingest_idempotency SET response = $2 WHERE key = $1', [idem.key, JSON.stringify(out)]);
      return { items: out, replayed: false };
    });
  }

  /** Fills predictedLabel, modelVersion and variant from the logged prediction when the caller left them out. */
  private async fillFromPredictions(items: readonly FeedbackItem[]): Promise<FeedbackItem[]> {
    const ids = [...new Set(items.filter((i) => i.predictionId && (i.predictedLabel === undefined || i.modelVersion === undefined || i.variant === undefined)).map((i) => i.predictionId as string))];
    if (ids.length === 0) return [...items];
    const rows = (await this.pool.query('SELECT prediction_id, model_version, variant, label FROM predictions WHERE prediction_id = ANY($1::uuid[])', [ids])).rows.map((r) => PredictionRow.parse(r));
    const byId = new Map(rows.map((r) => [r.prediction_id, r]));
    return items.map((i) => {
      const p = i.predictionId ? byId.get(i.predictionId) : undefined;
      if (!p) return i;
      return { ...i, predictedLabel: i.predictedLabel ?? p.label, modelVersion: i.modelVersion ?? (p.model_version as never), variant: i.variant ?? (p.variant as never) };
    });
  }

  /** Labels taught by the items that their model's champion does not know, with how many items name each. */
  private unknownLabels(built: readonly Built[], known: ReadonlyMap<string, ReadonlySet<string>>): Map<string, { model: string; label: string; n: number }> {
    const out = new Map<string, { model: string; label: string; n: number }>();
    for (const { event } of built) {
      const label = teachingLabel(event.data);
      if (label === undefined || known.get(event.subject)?.has(label) === true) continue;
      const key = JSON.stringify([event.subject, label]);
      const seen = out.get(key);
      if (seen) seen.n += 1;
      else out.set(key, { model: event.subject, label, n: 1 });
    }
    return out;
  }

  /** Records the proposals (LabelBook) and flags the items whose label is still only proposed. */
  private async markProposals(c: PoolClient, built: Built[], unknown: Map<string, { model: string; label: string; n: number }>, sender: Client): Promise<Built[]> {
    const proposed = new Set<string>();
    // In a fixed order, so two transactions proposing the same labels lock their rows in the same order.
    for (const [key, u] of [...unknown].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (await this.labels.propose(c, u.model, u.label, sender, u.n)) proposed.add(key);
    }
    if (proposed.size === 0) return built;
    return built.map((b) => {
      const label = teachingLabel(b.event.data);
      return label !== undefined && proposed.has(JSON.stringify([b.event.subject, label])) ? { item: b.item, event: { ...b.event, data: { ...b.event.data, proposedLabel: true } } } : b;
    });
  }

  private buildEvents(items: readonly FeedbackItem[], sender: Client, pathOf: (i: number) => (string | number)[]): Built[] {
    const issues: ZodIssue[] = [];
    const built = items.map((item, i) => {
      const { model, ...rest } = item;
      const feedbackId = randomUUID();
      const data = compact({ feedbackId, ...rest, client: sender.name, clientTrust: sender.trust }) as DataOf<'feedback'>;
      if (!needsEventCheck(item)) {
        const event = {
          specversion: SPEC_VERSION, id: feedbackId, source: INGEST_SOURCE, type: FEEDBACK_TYPE, time: new Date().toISOString(), subject: model,
          datacontenttype: 'application/json', schemaversion: FEEDBACK_SCHEMA_VERSION, data,
        } as EventOf<'feedback'>;
        return { item, event };
      }
      try {
        return { item, event: makeEvent('feedback', { id: feedbackId, source: INGEST_SOURCE, subject: model, data }) };
      } catch (err) {
        if (!(err instanceof ZodError)) throw err;
        // Report against the caller's field names: drop the envelope's `data.` prefix.
        for (const issue of err.issues) issues.push({ ...issue, path: [...pathOf(i), ...(issue.path[0] === 'data' ? issue.path.slice(1) : issue.path)] });
        return undefined;
      }
    });
    if (issues.length > 0) throw new ZodError(issues);
    return built as Built[];
  }

  private async insert(db: Pool | PoolClient, built: readonly Built[]): Promise<AcceptedItem[]> {
    // Absent optional fields stay absent in the JSON and arrive as NULL.
    const rows = built.map(({ item, event }) => ({
      id: event.id,
      model: item.model,
      prediction_id: item.predictionId,
      model_version: event.data.modelVersion,
      variant: event.data.variant,
      text: item.text,
      predicted_label: event.data.predictedLabel,
      correct_label: event.data.correctLabel,
      kind: item.kind,
      reporter: item.reporter,
      metadata: item.metadata,
      client: event.data.client,
      client_trust: event.data.clientTrust,
      proposed_label: event.data.proposedLabel === true,
      event,
    }));
    // Named, so each connection parses and plans the CTE once (PostgreSQL shares these 2 cores with us).
    const res = await db.query({ name: 'feedback-ingest-insert', text: INSERT, values: [JSON.stringify(rows)] });
    const seq = new Map(res.rows.map((r) => InsertedRow.parse(r)).map((r) => [r.id, r.sequence]));
    return built.map((b) => ({ feedbackId: b.event.id, sequence: seq.get(b.event.id) ?? -1 }));
  }
}
