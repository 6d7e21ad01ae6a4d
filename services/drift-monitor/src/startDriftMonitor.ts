import type { Redis } from 'ioredis';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { Bus } from '@flywheel/bus';
import { createHttpApp, listen, requireBearer } from '@flywheel/http';
import { ModelName } from '@flywheel/contracts';
import { RedisLocks } from '@flywheel/redis';
import { NotFound, type Logger } from '@flywheel/runtime';
import { createDriftMetrics } from './driftMetrics.js';
import { createDriftMonitor, type DriftMonitor, type DriftMonitorSettings } from './createDriftMonitor.js';
import { RetrainTrigger } from './RetrainTrigger.js';
import type { TrainingSnapshots } from './TrainingSnapshots.js';

export interface DriftMonitorOptions {
  redis: Redis;
  bus: Bus;
  logger: Logger;
  metrics: MetricsRegistry;
  /** HTTP port; 0 picks a free one. */
  port: number;
  adminToken: string;
  settings: DriftMonitorSettings;
  lockTtlMs: number;
  cooldownMs: number;
  /** Prefix of the shared retraining lock (the aggregator's: 'flywheel'). */
  lockPrefix?: string;
  /** Prefix of this service's own Redis keys (cooldowns). */
  redisPrefix?: string;
  consumerGroup?: string;
  /** Champions and training snapshots (the registry); without it references come from predictions only. */
  snapshots?: TrainingSnapshots;
}

export interface RunningDriftMonitor {
  monitor: DriftMonitor;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the drift-monitor in-process on clients the caller owns: the champions' references from
 * the registry, the consumer of `predictions`, `feedback-events` and `model-updates`, the stale-window timer and HTTP (health, metrics, admin status/flush).
 */
export const startDriftMonitor = async (o: DriftMonitorOptions): Promise<RunningDriftMonitor> => {
  const source = '/flywheel/drift-monitor';
  const trigger = new RetrainTrigger({
    redis: o.redis, locks: new RedisLocks(o.redis, o.lockPrefix ?? 'flywheel'), publisher: o.bus.publisher,
    lockTtlMs: o.lockTtlMs, cooldownMs: o.cooldownMs, redisPrefix: o.redisPrefix ?? 'flywheel', source,
  });
  const monitor = createDriftMonitor({ publisher: o.bus.publisher, trigger, logger: o.logger, metrics: createDriftMetrics(o.metrics), settings: o.settings, source, snapshots: o.snapshots });
  // References survive a restart: the champions' snapshots are read again before consuming.
  await monitor.watchChampions();
  const consumer = await o.bus.consume(o.consumerGroup ?? 'drift-monitor', monitor.handlers);
  monitor.start();
  const admin = requireBearer(o.adminToken);
  const app = createHttpApp({
    service: 'drift-monitor', logger: o.logger, metrics: o.metrics,
    readiness: [{ name: 'redis', check: async () => (await o.redis.ping()) === 'PONG' }],
    routes: (r) => {
      r.get('/admin/models/:model/drift', admin, (req, res) => {
        const status = monitor.status(ModelName.parse(req.params.model));
        if (!status) throw new NotFound(`no champion predictions seen for ${req.params.model} yet`);
        res.json(status);
      });
      r.post('/admin/models/:model/drift/evaluate', admin, async (req, res) => {
        const report = await monitor.flush(ModelName.parse(req.params.model));
        if (!report) throw new NotFound(`no window to evaluate for ${req.params.model}: its reference is not complete or the window is empty`);
        res.json(report);
      });
    },
  });
  const server = await listen(app, o.port);
  return {
    monitor,
    port: server.port,
    close: async () => {
      await server.close();
      monitor.stop();
      await consumer.stop();
    },
  };
};
