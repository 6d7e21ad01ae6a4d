// The aggregator's composition root: config, the skeleton, stores, domain objects, what runs.
import { fileURLToPath } from 'node:url';
import { createRuleBook, FLYWHEEL_SOURCES } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { createService } from '@flywheel/service';
import { createAggregatorMetrics } from './aggregatorMetrics.js';
import { checkSchedule } from './checkSchedule.js';
import { loadConfig } from './config.js';
import { counterRebuild } from './counterRebuild.js';
import { clientCaps } from './evaluateRules.js';
import { PgLedger } from './ledger.js';
import { retainLedger } from './ledgerRetention.js';
import { onFeedback } from './onFeedback.js';
import { onRetrainingTriggers } from './onRetrainingTriggers.js';
import { RedisCounters } from './redisCounters.js';
import { mirrorCounts, reportAssessment } from './reportAssessment.js';

const config = loadConfig(process.env);
const svc = createService({ name: 'aggregator', config });

// The shared outbox first: migration 002 moves unsent triggers into it.
await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
await svc.migrate(fileURLToPath(new URL('../migrations', import.meta.url)), 'aggregator_migrations');

const pool = svc.pool();
const rulesFor = createRuleBook(config);
const metrics = createAggregatorMetrics(svc.metrics);
const counters = new RedisCounters(svc.redis(), config.REDIS_PREFIX);
// The shared outbox table; this relay publishes only the aggregator's rows (its source), one replica at a time.
const relay = createOutboxRelay({ pool, publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.aggregator, idlePollMs: config.RELAY_IDLE_POLL_MS });
const ledger = new PgLedger({ pool, leases: new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX)), lockTtlMs: config.RETRAIN_LOCK_TTL_MS, rulesFor, capsFor: (m) => clientCaps(rulesFor(m), config.RETRAIN_MAX_PER_CLIENT) });
const report = reportAssessment({ counters, metrics, rulesFor, relay, logger: svc.logger });
const rebuild = counterRebuild({ ledger, counters, mirror: mirrorCounts({ counters, metrics, rulesFor, logger: svc.logger }), metrics, logger: svc.logger });

// Always rebuild at start: the counters may be stale from before a crash.
await rebuild.rebuild();
svc.consume('aggregator', { feedback: onFeedback({ ledger, report, metrics }), retrainingTriggers: onRetrainingTriggers({ ledger, report }) });
svc.every('counter-check', config.SWEEP_INTERVAL_MS, rebuild.ifLost);
svc.every('schedule-rule', config.SCHEDULE_INTERVAL_MS, checkSchedule({ ledger, rulesFor, report }));
svc.every('retention', config.RETENTION_INTERVAL_MS, retainLedger(pool, config, metrics.retentionDeleted));
svc.every('outbox-prune', 3_600_000, async () => metrics.retentionDeleted.inc({ table: 'flywheel_outbox' }, await relay.prune({ olderThanMs: config.OUTBOX_SENT_KEEP_DAYS * 86_400_000 })));
relay.start();
svc.onStop(() => relay.stop());
await svc.start();
