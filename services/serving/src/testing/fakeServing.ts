// Serving over fakes, wired as main.ts wires it (skeleton, front handler, fast path, express routes),
// for the unit tests of the HTTP surface: no store is ever used, so none is connected.
import type { ModelUpdated } from '@flywheel/contracts';
import { createService, ServiceConfig } from '@flywheel/service';
import { EXPRESS_BODY_LIMIT, BATCH_BODY_LIMIT_BYTES } from '../bodyLimits.js';
import { createPredictor } from '../createPredictor.js';
import { createFastPredictPath } from '../fastPredictPath.js';
import { ModelHost } from '../ModelHost.js';
import { createPredictHandlers } from '../predictHandlers.js';
import type { PredictionRecord } from '../PredictionLog.js';
import { createServingFront } from '../servingFront.js';
import { createServingMetrics } from '../servingMetrics.js';
import { modelsReadiness, servingRoutes } from '../servingRoutes.js';
import { FakeEngine, fakeKeyring, FakeRateLimits, FakeRouting, FakeSource, quietLogger, table } from './fakes.js';

const config = ServiceConfig.parse({ KAFKA_BROKERS: 'unused:9092', POSTGRES_URL: 'postgres://unused@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1', LOG_LEVEL: 'silent', PORT: '0' });

/** Per-client predict budgets of the fake limits: `flood` may send 3 requests. */
export const FLOOD_LIMIT = 3;

/**
 * Starts serving over fakes with models `shop` (champion 1.0.0, challenger 1.0.1 on half the
 * subjects), `broken` (fails to load) and `fresh` (no champion yet). `recorded` collects the
 * prediction log's records.
 */
export const startFakeServing = async (o: { fastPath: boolean }) => {
  const recorded: PredictionRecord[] = [];
  const source = new FakeSource();
  const svc = createService({ name: 'serving', config, bodyLimit: EXPRESS_BODY_LIMIT, handleSignals: false });
  const metrics = createServingMetrics(svc.metrics);
  const host = new ModelHost({ source, engine: new FakeEngine(), routing: new FakeRouting(), metrics, logger: quietLogger(), releaseGraceMs: 0 });
  await host.start('shop');
  source.champions.set('broken', '9.0.0'); // its adapter fails to load: the model answers 503, the others serve
  await host.start('broken');
  source.champ = undefined;
  await host.start('fresh'); // known, no champion yet
  await host.apply('shop', { action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 5000, salt: 'secret-salt', revision: 1 }) } as ModelUpdated);
  const predict = createPredictor({ host, recorder: { record: (p) => void recorded.push(p) }, metrics });
  const keyring = fakeKeyring();
  const limits = new FakeRateLimits({ flood: FLOOD_LIMIT });
  svc.onStop(() => host.close());
  svc.ready(modelsReadiness(host));
  svc.routes(servingRoutes({ predict, directory: host, metrics, keyring, limits }));
  const fast = o.fastPath ? createFastPredictPath(createPredictHandlers({ predict, directory: host, metrics }), { logger: quietLogger(), limits }) : undefined;
  svc.front(createServingFront({ keyring, fast, expressLimitBytes: BATCH_BODY_LIMIT_BYTES }));
  const { port } = await svc.start();
  return { base: `http://127.0.0.1:${port}`, recorded, limits, stop: () => svc.stop() };
};

/** Headers of a JSON request with the fake keyring's `key` (none when undefined). */
export const withKey = (key: string | undefined): Record<string, string> => ({
  'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
});
