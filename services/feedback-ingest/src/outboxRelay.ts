import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Counter, Gauge, type Registry } from 'prom-client';
import { topics, type EventOf, type TopicKey } from '@flywheel/contracts';
import type { Pool, PoolClient } from '@flywheel/postgres';
import { backoffMs, failpoint, type Logger } from '@flywheel/runtime';

/** The part of the bus the relay needs. */
export interface OutboxPublisher {
  publishMany<K extends TopicKey>(topic: K, events: readonly EventOf<K>[]): Promise<void>;
}

export interface OutboxRelayOptions {
  pool: Pool;
  publisher: OutboxPublisher;
  logger: Logger;
  metrics: Registry;
  /** Names the advisory lock that elects one publishing replica; include the schema so isolated copies do not share it. */
  lockName: string;
  batchSize?: number;
  idlePollMs?: number;
  /** After a nudge, how long the relay waits for more commits before it reads the outbox (default 5 ms). */
  nudgeLingerMs?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Wakes the relay now (after a commit) instead of at the next poll. */
  nudge(): void;
  stop(): Promise<void>;
  /** Rows written but not yet published. */
  backlog(): Promise<number>;
  /** Whether this replica currently holds the publishing lock. */
  isLeader(): boolean;
}

const OutboxRow = z.object({ id: z.coerce.number(), topic: z.enum(['feedback', 'retrainingTriggers']), event: z.unknown() });

/**
 * Publishes the outbox in id order, in batches, then marks the rows sent. One replica at a time
 * publishes: it holds a session advisory lock on a dedicated connection, so a dead leader's lock
 * goes with its connection and another replica takes over. A crash between publish and mark
 * re-publishes rows with the same event ids, which consumers deduplicate. While Kafka is down the
 * rows stay (the API keeps accepting) and the relay retries with backoff; the backlog is a gauge.
 */
export const createOutboxRelay = (opts: OutboxRelayOptions): OutboxRelay => {
  const log = opts.logger.child({ component: 'outbox-relay' });
  const batchSize = opts.batchSize ?? 500;
  const idlePollMs = opts.idlePollMs ?? 200;
  const nudgeLingerMs = opts.nudgeLingerMs ?? 5;
  const lockKey = BigInt.asIntN(64, BigInt(`0x${createHash('sha256').update(`outbox:${opts.lockName}`).digest('hex').slice(0, 16)}`)).toString();
  const published = (opts.metrics.getSingleMetric('flywheel_ingest_outbox_published_total') as Counter<string> | undefined) ??
    new Counter({ name: 'flywheel_ingest_outbox_published_total', help: 'Outbox rows published to Kafka', labelNames: ['topic'], registers: [opts.metrics] });
  const failures = (opts.metrics.getSingleMetric('flywheel_ingest_outbox_publish_failures_total') as Counter<string> | undefined) ??
    new Counter({ name: 'flywheel_ingest_outbox_publish_failures_total', help: 'Relay publish attempts that failed (Kafka unreachable or refusing)', registers: [opts.metrics] });
  const backlog = async (): Promise<number> =>
    Number(z.object({ n: z.coerce.number() }).parse((await opts.pool.query('SELECT count(*) AS n FROM feedback_ingest_outbox WHERE published_at IS NULL')).rows[0]).n);
  if (!opts.metrics.getSingleMetric('flywheel_ingest_outbox_backlog')) {
    new Gauge({
      name: 'flywheel_ingest_outbox_backlog',
      help: 'Outbox rows accepted but not yet published to Kafka',
      registers: [opts.metrics],
      async collect() { this.set(await backlog()); },
    });
  }

  const stopping = new AbortController();
  let wake: (() => void) | undefined;
  let leaderClient: PoolClient | undefined;
  let loop: Promise<void> | undefined;

  // Set by a nudge and cleared when the relay acts on it, so a commit during a cycle is not missed.
  let nudged = false;

  // Waits ms, or less when stopped; a nudge (new rows committed) also ends an idle wait, but not a backoff.
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

  const lead = async (): Promise<PoolClient | undefined> => {
    const c = await opts.pool.connect();
    try {
      const r = await c.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [lockKey]);
      if (z.object({ ok: z.boolean() }).parse(r.rows[0]).ok) return c;
    } catch (err) {
      c.release(err as Error);
      throw err;
    }
    c.release();
    return undefined;
  };

  /** Publishes one batch; returns how many rows it sent. */
  const relayOnce = async (c: PoolClient): Promise<number> => {
    const rows = (await c.query('SELECT id, topic, event FROM feedback_ingest_outbox WHERE published_at IS NULL ORDER BY id LIMIT $1', [batchSize])).rows.map((r) => OutboxRow.parse(r));
    if (rows.length === 0) return 0;
    // Runs of one topic, in id order, so per-model order holds within each topic.
    for (let i = 0; i < rows.length;) {
      const topic = rows[i]!.topic;
      let j = i;
      while (j < rows.length && rows[j]!.topic === topic) j++;
      const run = rows.slice(i, j);
      // Not parsed here: the bus's publishMany validates every event against the topic schema (one
      // parse per row instead of two), and a row it refuses fails this batch loudly, as it would here.
      await opts.publisher.publishMany(topic, run.map((r) => r.event) as readonly EventOf<typeof topic>[]);
      failpoint('feedback-ingest.relay.after-publish'); // published, not yet marked: the rows go again after a restart
      await c.query('UPDATE feedback_ingest_outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [run.map((r) => r.id)]);
      published.inc({ topic: topics[topic].name }, run.length);
      i = j;
    }
    return rows.length;
  };

  const run = async (): Promise<void> => {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      try {
        leaderClient ??= await lead();
        if (!leaderClient) {
          await idle(Math.max(1000, idlePollMs));
          continue;
        }
        const n = await relayOnce(leaderClient);
        attempt = 0;
        if (n < batchSize) {
          if (!nudged) await idle(idlePollMs);
          if (nudged) {
            // Woken by a commit: linger briefly so that a burst of requests is published as one
            // batch, not one outbox round trip per request.
            nudged = false;
            await idle(nudgeLingerMs, false);
          }
        }
      } catch (err) {
        failures.inc();
        log.warn({ err, attempt }, 'outbox relay failed; rows stay in the outbox and will be retried');
        // A broken connection loses the lock with it; give it back and elect again.
        if (leaderClient && /connection|terminat|ECONN/i.test(String((err as Error).message))) {
          leaderClient.release(err as Error);
          leaderClient = undefined;
        }
        await idle(backoffMs(attempt, 200, 5_000), false);
        attempt++;
      }
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
      if (leaderClient) {
        await leaderClient.query('SELECT pg_advisory_unlock($1::bigint)', [lockKey]).catch(() => {});
        leaderClient.release();
        leaderClient = undefined;
      }
    },
    backlog,
    isLeader: () => leaderClient !== undefined,
  };
};
