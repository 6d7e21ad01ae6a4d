/**
 * The one outbox relay: publishes `flywheel_outbox` rows (see outboxTable.ts) to Kafka.
 *
 *   const relay = createOutboxRelay({ pool, publisher: bus.publisher, logger, metrics, lockName: `${schema}.outbox` });
 *   relay.start();                 // after migrateOutbox(pool)
 *   relay.nudge();                 // after a commit that enqueued rows: publish now, not at the next poll
 *   await relay.prune({ olderThanMs: 7 * 86_400_000 });   // retention, from a schedule
 *   await relay.stop();            // on shutdown, before the pool ends
 *
 * - Order: rows go out in id order, in batches, as runs of one topic (so per-key order holds).
 * - One publisher: each replica tries a session advisory lock on a dedicated pooled connection; the
 *   holder publishes, the others poll the lock. A dead leader's lock goes with its connection.
 * - At least once: a crash between publish and mark re-publishes the rows with the same event ids
 *   (consumers deduplicate by id). `failpoint('outbox.relay.after-publish')` stops a test there.
 * - Outages: while the broker (or PostgreSQL) is down, rows stay, the relay backs off (capped,
 *   jittered) and counts the failure; `flywheel_outbox_backlog` shows what waits.
 * - Poison: a row the topic refuses (schema, PoisonMessage, too large; see poisonReason.ts) gets
 *   `poisoned_at` and `last_error`, counts in `flywheel_outbox_poisoned_total{topic}`, and never
 *   blocks the rows after it. Fix the producer, then requeue by hand if the event still matters:
 *   `UPDATE flywheel_outbox SET poisoned_at = NULL, event = … WHERE id = …`.
 * - The leader holds one pool connection for as long as it leads: size the pool for it.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { topicKeys, topics, type EventOf, type TopicKey } from '@flywheel/contracts';
import { backoffMs, failpoint, type Logger } from '@flywheel/runtime';
import { createOutboxMetrics } from './outboxMetrics.js';
import { OUTBOX_TABLE } from './outboxTable.js';
import { poisonReason } from './poisonReason.js';

/**
 * The part of the bus the relay needs (the bus's Publisher satisfies it). It must refuse an event that does not
 * belong to the topic (a PoisonMessage sets the row aside); the writer validated its data when it wrote the row.
 */
export interface OutboxPublisher {
  publishMany<K extends TopicKey>(topic: K, events: readonly EventOf<K>[], opts?: { key?: (e: EventOf<K>) => string }): Promise<void>;
}

export interface OutboxRelayOptions {
  /** Its search_path names the schema of `flywheel_outbox`. */
  pool: pg.Pool;
  publisher: OutboxPublisher;
  logger: Logger;
  metrics: Registry;
  /** Names the advisory lock that elects the publishing replica; include the schema so isolated copies do not share it. */
  lockName: string;
  /**
   * The envelope `source` of the events this relay publishes (e.g. `/flywheel/aggregator`); rows of
   * other producers in the same table are left to their own relays, so one service's outage never
   * stalls another's announcements and each producer's rows keep their order. Unset: every row.
   */
  source?: string;
  /** Rows read per cycle (default 500). */
  batchSize?: number;
  /** Wait between polls when idle, and the leader's reaction time without a nudge (default 200 ms). */
  idlePollMs?: number;
  /** After a nudge, how long to wait for more commits before reading, so a burst goes out as one batch (default 5 ms). */
  nudgeLingerMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Wakes the relay now (call after a commit that enqueued rows) instead of at the next poll. */
  nudge(): void;
  /** Stops publishing and gives the leadership back; resolves once the current cycle is done. */
  stop(): Promise<void>;
  /** Rows committed but not yet published (poisoned rows excluded). */
  backlog(): Promise<number>;
  /** Whether this replica currently holds the publishing lock. */
  isLeader(): boolean;
  /** Deletes rows published more than `olderThanMs` ago, `batchSize` (default 1000) per statement so no lock is held long; returns how many. Poisoned rows stay. */
  prune(opts: { olderThanMs: number; batchSize?: number }): Promise<number>;
}

const Row = z.object({ id: z.coerce.string(), event_id: z.string(), topic: z.string(), key: z.string(), event: z.unknown() });
type Row = z.infer<typeof Row>;
const Count = z.object({ n: z.coerce.number() });
const isTopicKey = (t: string): t is TopicKey => (topicKeys as string[]).includes(t);

/** A publish that failed (as opposed to a PostgreSQL error): the leader's connection is still good. */
class PublishFailed extends Error {}

/** Rows of this producer: its source, or an instance of it (`/flywheel/serving/<host>`); every row without one. */
const producerFilter = (source: string | undefined) => (param: number): string =>
  source === undefined ? 'TRUE' : `(event->>'source' = $${param} OR starts_with(event->>'source', $${param} || '/'))`;

/** The relay's read: the next `limit` unpublished, unpoisoned rows of `source`, in id order (run it through inIdOrder). */
export const pendingRowsQuery = (source: string | undefined, limit: number): { text: string; values: unknown[] } => ({
  text: `SELECT id, event_id, topic, key, event FROM ${OUTBOX_TABLE} WHERE published_at IS NULL AND poisoned_at IS NULL AND ${producerFilter(source)(2)} ORDER BY id LIMIT $1`,
  values: [limit, ...(source === undefined ? [] : [source])],
});

/**
 * Runs `read` (one SELECT of pending rows, ORDER BY id LIMIT n) so that PostgreSQL walks the
 * pending index in id order and stops after n rows. Left to itself, the planner misjudges the
 * producer filter (an expression on the jsonb event it has no statistics for): with a large backlog
 * it reads every pending row (bitmap or parallel sequential scan) and sorts them for each batch, so
 * each batch costs more the more is waiting, and the relay falls further behind (measured: 39-100
 * ms per 500-row batch with 100k-266k rows waiting, against 1 ms through the index). SET LOCAL ends
 * with the transaction, so the pooled session keeps its defaults.
 */
export const inIdOrder = async <T>(c: pg.PoolClient, read: () => Promise<T>): Promise<T> => {
  await c.query('BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off');
  try {
    const result = await read();
    await c.query('COMMIT');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  }
};

export const createOutboxRelay = (opts: OutboxRelayOptions): OutboxRelay => {
  const log = opts.logger.child({ component: 'outbox-relay', lock: opts.lockName });
  const batchSize = opts.batchSize ?? 500;
  const idlePollMs = opts.idlePollMs ?? 200;
  const nudgeLingerMs = opts.nudgeLingerMs ?? 5;
  const lockKey = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`outbox:${opts.lockName}:${opts.source ?? '*'}`).digest('hex').slice(0, 16)}`)).toString();
  const mine = producerFilter(opts.source);
  const mineArgs = opts.source === undefined ? [] : [opts.source];
  const pending = pendingRowsQuery(opts.source, batchSize);
  const backlog = async (): Promise<number> =>
    Count.parse((await opts.pool.query(`SELECT count(*) AS n FROM ${OUTBOX_TABLE} WHERE published_at IS NULL AND poisoned_at IS NULL AND ${mine(1)}`, mineArgs)).rows[0]).n;
  const m = createOutboxMetrics(opts.metrics, backlog);
  const topicLabel = (t: string): string => (isTopicKey(t) ? topics[t].name : t);

  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  let leader: pg.PoolClient | undefined;
  let loop: Promise<void> | undefined;
  // Set by a nudge and cleared when acted on, so a commit during a cycle is not missed.
  let nudged = false;

  // Waits ms, or less when stopped; a nudge also ends an idle wait, but not a backoff.
  const idle = (ms: number, wakeable = true): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        wake = undefined;
        stopping.signal.removeEventListener('abort', done);
        resolve();
      }
      if (wakeable) wake = done;
      stopping.signal.addEventListener('abort', done, { once: true });
    });

  const elect = async (): Promise<pg.PoolClient | undefined> => {
    const c = await opts.pool.connect();
    try {
      const r = await c.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [lockKey]);
      if (z.object({ ok: z.boolean() }).parse(r.rows[0]).ok) {
        // Held between cycles, outside the pool's care: without a listener, the server ending the
        // session while the relay idles (a PostgreSQL restart) is an unhandled 'error' that kills
        // the process. The next query on it fails and the loop elects again.
        c.on('error', (err: Error) => log.warn({ err }, 'outbox relay leader session ended; electing again'));
        return c;
      }
    } catch (err) {
      c.release(err as Error);
      throw err;
    }
    c.release();
    return undefined;
  };

  const publish = async (c: pg.PoolClient, topic: TopicKey, rows: Row[]): Promise<void> => {
    const keys = new Map(rows.map((r) => [r.event_id, r.key]));
    try {
      // Not parsed here: the publisher validates every event against the topic's schema.
      await opts.publisher.publishMany(topic, rows.map((r) => r.event) as readonly EventOf<typeof topic>[], { key: (e) => keys.get(e.id) ?? e.subject });
    } catch (err) {
      throw new PublishFailed(String(err), { cause: err });
    }
    failpoint('outbox.relay.after-publish'); // published, not yet marked: the rows go again after a restart
    await c.query(`UPDATE ${OUTBOX_TABLE} SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
    m.published.inc({ topic: topics[topic].name }, rows.length);
  };

  const poison = async (c: pg.PoolClient, row: Row, reason: string): Promise<void> => {
    await c.query(`UPDATE ${OUTBOX_TABLE} SET poisoned_at = now(), last_error = $2, attempts = attempts + 1 WHERE id = $1`, [row.id, reason]);
    m.poisoned.inc({ topic: topicLabel(row.topic) });
    log.error({ outboxId: row.id, eventId: row.event_id, topic: row.topic, reason }, 'outbox row refused by its topic; moved aside (poisoned_at set), the relay goes on');
  };

  // Best effort: what the operator sees in the table. The relay's own error is what counts.
  const noteFailure = (c: pg.PoolClient, rows: Row[], err: unknown): Promise<unknown> =>
    c.query(`UPDATE ${OUTBOX_TABLE} SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id), String(err).slice(0, 2_000)])
      .catch((e: unknown) => log.debug({ err: e }, 'could not record the failed attempt'));

  /** Publishes one run of a topic; when the topic refuses something, row by row so only the bad rows go aside. */
  const relayRun = async (c: pg.PoolClient, topic: string, run: Row[]): Promise<void> => {
    if (!isTopicKey(topic)) {
      for (const row of run) await poison(c, row, `unknown topic "${topic}"; expected one of ${topicKeys.join(', ')}`);
      return;
    }
    // Resolves undefined when published, the reason when the topic refused the rows; throws what a retry can fix.
    const tryPublish = async (rows: Row[]): Promise<string | undefined> => {
      try {
        await publish(c, topic, rows);
        return undefined;
      } catch (err) {
        const reason = err instanceof PublishFailed ? poisonReason(err.cause) : undefined;
        if (reason === undefined) {
          await noteFailure(c, rows, err instanceof PublishFailed ? err.cause : err);
          throw err;
        }
        return reason;
      }
    };
    const reason = await tryPublish(run);
    if (reason === undefined) return;
    if (run.length === 1) return poison(c, run[0]!, reason);
    // Something in the run was refused: row by row, so only the refused rows go aside.
    for (const row of run) {
      const refused = await tryPublish([row]);
      if (refused !== undefined) await poison(c, row, refused);
    }
  };

  /** Publishes one batch; returns how many rows it read. */
  const relayOnce = async (c: pg.PoolClient): Promise<number> => {
    const rows = (await inIdOrder(c, () => c.query(pending.text, pending.values))).rows.map((r) => Row.parse(r));
    for (let i = 0; i < rows.length;) {
      let j = i;
      while (j < rows.length && rows[j]!.topic === rows[i]!.topic) j++;
      await relayRun(c, rows[i]!.topic, rows.slice(i, j));
      i = j;
    }
    return rows.length;
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      try {
        leader ??= await elect();
        if (!leader) {
          await idle(Math.max(1000, idlePollMs));
          continue;
        }
        const n = await relayOnce(leader);
        attempt = 0;
        if (n < batchSize) {
          if (!nudged) await idle(idlePollMs);
          if (nudged) {
            nudged = false;
            await idle(nudgeLingerMs, false);
          }
        }
      } catch (err) {
        m.failures.inc();
        log.warn({ err: err instanceof PublishFailed ? err.cause : err, attempt }, 'outbox relay failed; rows stay in the outbox and will be retried');
        // A PostgreSQL error may have broken the leader's connection: drop it (its lock goes with
        // it) and elect again. A publish failure leaves the connection and the leadership alone.
        if (leader && !(err instanceof PublishFailed)) {
          leader.release(err as Error);
          leader = undefined;
        }
        await idle(backoffMs(attempt, 200, 5_000), false);
        attempt++;
      }
    }
  };

  const prune = async ({ olderThanMs, batchSize: n = 1_000 }: { olderThanMs: number; batchSize?: number }): Promise<number> => {
    let total = 0;
    for (;;) {
      const r = await opts.pool.query(
        `DELETE FROM ${OUTBOX_TABLE} WHERE id IN (
           SELECT id FROM ${OUTBOX_TABLE} WHERE published_at < now() - make_interval(secs => $1::double precision / 1000) ORDER BY id LIMIT $2)`,
        [olderThanMs, n],
      );
      total += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < n) return total;
    }
  };

  return {
    start() { loop ??= run(); },
    nudge() {
      nudged = true;
      wake?.();
    },
    async stop() {
      stopping.abort();
      await loop;
      if (leader) {
        await leader.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => {});
        leader.release();
        leader = undefined;
      }
    },
    backlog,
    isLeader: () => leader !== undefined,
    prune,
  };
};
