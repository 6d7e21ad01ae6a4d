import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, type Registry } from 'prom-client';
import { topics, type EventOf } from '@flywheel/contracts';
import type { Bus, Handlers, RunningConsumer } from '@flywheel/bus';
import { runMigrations, type Pool } from '@flywheel/postgres';
import type { Locks } from '@flywheel/redis';
import { DependencyDown, failpoint, FlywheelError, type Logger } from '@flywheel/runtime';
import { AGGREGATOR_SOURCE, PgLedger, type Assessment } from './ledger.js';
import type { Counters } from './redisCounters.js';
import type { RetrainRules } from '@flywheel/contracts';

/** Folder of the aggregator's SQL migrations. */
export const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations');

export interface AggregatorDeps {
  pool: Pool;
  schema: string;
  bus: Bus;
  locks: Locks;
  counters: Counters;
  logger: Logger;
  metrics: Registry;
  rulesFor: (model: string) => RetrainRules;
  lockTtlMs: number;
  sweepIntervalMs?: number;
  scheduleIntervalMs?: number;
  group?: string;
}

export interface Aggregator {
  ledger: PgLedger;
  /** The topic handlers (exported so tests can drive them without Kafka). */
  handlers: Handlers;
  /** Applies migrations, rebuilds Redis counters, joins the consumer group and starts the sweep. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One sweep now: rebuild counters if Redis lost them, republish unsent triggers. */
  sweep(): Promise<void>;
  /** Checks the schedule rule for every model with pending feedback now. */
  checkSchedule(): Promise<void>;
}

// Store failures inside a handler must be retried, not dead-lettered: the event is not counted yet.
const asRetriable = (err: unknown): Error =>
  err instanceof FlywheelError ? err : new DependencyDown(`aggregator store failed: ${(err as Error).message ?? String(err)}`, { cause: err });

/**
 * The aggregator: counts `feedback-events` per model in its PostgreSQL ledger (mirrored to Redis
 * counters), applies the retraining rules and publishes one `retraining-triggers` message per
 * firing under the model's retraining lock. Triggers from other services (manual, drift) reset
 * the count. Built from clients so main.ts, tests and benches can run it.
 */
export const createAggregator = (deps: AggregatorDeps): Aggregator => {
  const log = deps.logger.child({ component: 'aggregator' });
  const ledger = new PgLedger({ pool: deps.pool, locks: deps.locks, lockTtlMs: deps.lockTtlMs, rulesFor: deps.rulesFor });
  const m = {
    pending: new Gauge({ name: 'flywheel_aggregator_pending_corrections', help: 'Corrections counted since the last trigger', labelNames: ['model'], registers: [deps.metrics] }),
    threshold: new Gauge({ name: 'flywheel_aggregator_correction_threshold', help: 'Pending corrections that start a retraining of the model (its correction rule)', labelNames: ['model'], registers: [deps.metrics] }),
    accuracy: new Gauge({ name: 'flywheel_aggregator_window_accuracy', help: 'Observed accuracy over the sliding window of outcomes', labelNames: ['model'], registers: [deps.metrics] }),
    triggers: new Counter({ name: 'flywheel_aggregator_triggers_total', help: 'Retraining triggers fired', labelNames: ['model', 'reason'], registers: [deps.metrics] }),
    suppressed: new Counter({ name: 'flywheel_aggregator_triggers_suppressed_total', help: 'Rule firings recorded but not published because the model is already training', labelNames: ['model'], registers: [deps.metrics] }),
    events: new Counter({ name: 'flywheel_aggregator_feedback_events_total', help: 'Feedback events seen, new or duplicate', labelNames: ['result'], registers: [deps.metrics] }),
    rebuilds: new Counter({ name: 'flywheel_aggregator_counter_rebuilds_total', help: 'Times the Redis counters were rebuilt from PostgreSQL', registers: [deps.metrics] }),
    publishFailures: new Counter({ name: 'flywheel_aggregator_trigger_publish_failures_total', help: 'Trigger publishes that failed and were left for the sweep', registers: [deps.metrics] }),
  };

  const mirror = async (a: Pick<Assessment, 'model' | 'snapshot' | 'accuracy'>): Promise<void> => {
    m.pending.set({ model: a.model }, a.snapshot.pendingCorrections);
    // Beside the count so a dashboard can draw each model's distance to its trigger.
    m.threshold.set({ model: a.model }, deps.rulesFor(a.model).correctionThreshold);
    if (a.accuracy !== null) m.accuracy.set({ model: a.model }, a.accuracy);
    // Redis is a cache of the ledger: a failed write is repaired by the next event or rebuild.
    await deps.counters.write(a.model, a.snapshot).catch((err: unknown) => log.warn({ err, model: a.model }, 'could not write counters to Redis; they will be rebuilt'));
  };

  const publishTrigger = async (a: Assessment): Promise<void> => {
    if (!a.fired) return;
    m.triggers.inc({ model: a.model, reason: a.fired.firing.reason });
    log.info({ model: a.model, reason: a.fired.firing.reason, details: a.fired.firing.details, token: a.fired.event.data.fencingToken }, 'retraining triggered');
    try {
      failpoint('aggregator.after-ledger-write'); // the trigger is committed, not yet published: the sweep sends it after a restart
      await deps.bus.publisher.publish('retrainingTriggers', a.fired.event);
      await ledger.markPublished(a.fired.id);
    } catch (err) {
      m.publishFailures.inc();
      log.warn({ err, model: a.model, trigger: a.fired.id }, 'trigger committed but not yet published; the sweep will retry');
    }
  };

  const afterAssessment = async (a: Assessment | undefined): Promise<void> => {
    if (!a) return;
    await mirror(a);
    if (a.suppressed?.firstForHolder) {
      m.suppressed.inc({ model: a.model });
      log.info({ model: a.model, reason: a.suppressed.firing.reason, holderToken: a.suppressed.holderToken }, 'rule fired while the model is training; recorded, not published');
    }
    await publishTrigger(a);
  };

  const handlers: Handlers = {
    feedback: async (e) => {
      let a: Assessment | undefined;
      try {
        a = await ledger.record(e);
      } catch (err) {
        throw asRetriable(err);
      }
      m.events.inc({ result: a ? 'new' : 'duplicate' });
      await afterAssessment(a);
    },
    retrainingTriggers: async (e) => {
      if (e.source === AGGREGATOR_SOURCE) return;
      try {
        await afterAssessment(await ledger.recordExternalTrigger(e));
      } catch (err) {
        throw asRetriable(err);
      }
    },
  };

  const rebuild = async (): Promise<void> => {
    const all = await ledger.allSnapshots();
    for (const s of all) await mirror(s);
    await deps.counters.markBuilt();
    m.rebuilds.inc();
    log.info({ models: all.length }, 'rebuilt Redis counters from the ledger');
  };
  // The marker key disappears with a flush or a new Redis: then every model is rebuilt.
  const rebuildIfLost = async (): Promise<void> => {
    if (!(await deps.counters.isBuilt())) await rebuild();
  };

  const parseTrigger = (raw: unknown) => topics.retrainingTriggers.schema.parse(raw) as EventOf<'retrainingTriggers'>;
  const sweep = async (): Promise<void> => {
    await rebuildIfLost();
    const n = await ledger.republishUnsent((e) => deps.bus.publisher.publish('retrainingTriggers', e), parseTrigger, 5_000);
    if (n > 0) log.info({ republished: n }, 'published triggers left unsent');
  };
  const checkSchedule = async (): Promise<void> => {
    for (const model of await ledger.modelsDueForSchedule((mm) => deps.rulesFor(mm).maxDaysBetweenTrainings)) {
      await afterAssessment(await ledger.reassess(model));
    }
  };

  const timers: NodeJS.Timeout[] = [];
  let consumer: RunningConsumer | undefined;
  const every = (ms: number, what: string, f: () => Promise<void>): void => {
    let running = false;
    timers.push(setInterval(() => {
      if (running) return;
      running = true;
      f().catch((err: unknown) => log.warn({ err }, `${what} failed; will try again`)).finally(() => { running = false; });
    }, ms));
  };

  return {
    ledger,
    handlers,
    sweep,
    checkSchedule,
    async start() {
      await runMigrations(deps.pool, migrationsDir, { table: 'aggregator_migrations', schema: deps.schema });
      // Always rebuild at start: the counters may be stale from before a crash.
      await rebuild();
      every(deps.sweepIntervalMs ?? 2_000, 'sweep', sweep);
      every(deps.scheduleIntervalMs ?? 60_000, 'schedule check', checkSchedule);
      consumer = await deps.bus.consume(deps.group ?? 'aggregator', handlers);
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      await consumer?.stop();
    },
  };
};
