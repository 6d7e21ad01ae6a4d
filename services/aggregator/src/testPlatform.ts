// Test-only (excluded from the build): the aggregator composed the way main.ts composes it, on an
// isolated platform, returning its parts so a test can drive the handlers without Kafka.
import { fileURLToPath } from 'node:url';
import { createRuleBook, FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir, type OutboxRelay } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { createService, type Service } from '@flywheel/service';
import { env, type IsolatedPlatform } from '@flywheel/testing';
import { createAggregatorMetrics } from './aggregatorMetrics.js';
import { checkSchedule } from './checkSchedule.js';
import { AggregatorConfig } from './config.js';
import { counterRebuild } from './counterRebuild.js';
import { clientCaps } from './evaluateRules.js';
import { PgLedger } from './ledger.js';
import type { Handler } from '@flywheel/bus';
import { onFeedback } from './onFeedback.js';
import { onRetrainingTriggers } from './onRetrainingTriggers.js';
import { RedisCounters } from './redisCounters.js';
import { mirrorCounts, reportAssessment } from './reportAssessment.js';

export interface StartedAggregator {
  svc: Service;
  ledger: PgLedger;
  handlers: { feedback: Handler<'feedback'>; retrainingTriggers: Handler<'retrainingTriggers'> };
  relay: OutboxRelay;
}

/**
 * `onService` gets the service as soon as it exists, so a caller can stop one whose start hangs;
 * `onStep` hears each start-up step as it completes (a set-up that hangs then says where).
 */
export const startAggregator = async (p: IsolatedPlatform, o: { env?: Record<string, string>; onService?: (svc: Service) => void; onStep?: (step: string) => void } = {}): Promise<StartedAggregator> => {
  const step = o.onStep ?? (() => {});
  const config = AggregatorConfig.parse({
    KAFKA_BROKERS: p.brokers.join(','), POSTGRES_URL: env('POSTGRES_URL'), REDIS_URL: env('REDIS_URL'), LOG_LEVEL: 'silent', PORT: '0',
    PG_SCHEMA: p.schema, REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix, RETRAIN_LOCK_TTL_MS: '120000', SWEEP_INTERVAL_MS: '300', RELAY_IDLE_POLL_MS: '50', KAFKA_SESSION_TIMEOUT_MS: '6000',
    ...o.env,
  });
  const svc = createService({ name: 'aggregator', config, handleSignals: false });
  o.onService?.(svc);
  await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
  await svc.migrate(fileURLToPath(new URL('../migrations', import.meta.url)), 'aggregator_migrations');
  step('migrated');
  const pool = svc.pool();
  const rulesFor = createRuleBook(config);
  const metrics = createAggregatorMetrics(svc.metrics);
  const counters = new RedisCounters(svc.redis(), config.REDIS_PREFIX);
  const relay = createOutboxRelay({ pool, publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.aggregator, idlePollMs: config.RELAY_IDLE_POLL_MS });
  const ledger = new PgLedger({ pool, leases: new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX)), lockTtlMs: config.RETRAIN_LOCK_TTL_MS, rulesFor, capsFor: (m) => clientCaps(rulesFor(m), config.RETRAIN_MAX_PER_CLIENT) });
  const report = reportAssessment({ counters, metrics, rulesFor, relay, logger: svc.logger });
  const rebuild = counterRebuild({ ledger, counters, mirror: mirrorCounts({ counters, metrics, rulesFor, logger: svc.logger }), metrics, logger: svc.logger });
  await rebuild.rebuild();
  step('counters rebuilt');
  const handlers = { feedback: onFeedback({ ledger, report, metrics }), retrainingTriggers: onRetrainingTriggers({ ledger, report }) };
  svc.consume('aggregator', handlers);
  svc.every('counter-check', config.SWEEP_INTERVAL_MS, rebuild.ifLost);
  svc.every('schedule-rule', config.SCHEDULE_INTERVAL_MS, checkSchedule({ ledger, rulesFor, report }));
  relay.start();
  svc.onStop(() => relay.stop());
  step('consumer, relay and timers set up; starting (joins the consumer group)');
  await svc.start();
  return { svc, ledger, handlers, relay };
};
