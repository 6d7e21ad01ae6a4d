import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authMigrationsDir, createKeyring } from '@flywheel/auth';
import type { Bus } from '@flywheel/bus';
import { type EventOf, FLYWHEEL_SOURCES, makeEvent, ModelName, ModelVersion } from '@flywheel/contracts';
import { createOutboxRelay, outboxMigrationsDir } from '@flywheel/postgres';
import { RedisLocks, RetrainLeases } from '@flywheel/redis';
import { migrateRegistry, MinioArtifactStore, PgRegistry, registryMigrationsDir } from '@flywheel/registry';
import { createService, type Service } from '@flywheel/service';
import { mulberry32 } from '@flywheel/stats';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { adminRoutes } from './adminRoutes.js';
import { DriftMonitorConfig, driftSettings } from './config.js';
import { createDriftMonitor, type DriftMonitor } from './createDriftMonitor.js';
import { createDriftMetrics } from './driftMetrics.js';
import { migrationsDir } from './migrations.js';
import { RetrainTrigger } from './RetrainTrigger.js';
import type { LabelledText } from './textReference.js';
import { RegistryTrainingSnapshots } from './TrainingSnapshots.js';

const run = randomUUID().slice(0, 8);
// Private schema (registry, drift_triggers, outbox), Redis prefix (leases), topic prefix and bucket (snapshots); all removed in afterAll.
let p: IsolatedPlatform;
let bus: Bus;
let leases: RetrainLeases;
let registry: PgRegistry;
let artifacts: MinioArtifactStore;
const reports: EventOf<'driftReports'>[] = [];
const triggers: EventOf<'retrainingTriggers'>[] = [];
let svc: Service;
let monitor: DriftMonitor;
const WINDOW = 200;

const words = (prefix: string): string[] => Array.from({ length: 400 }, (_, i) => `${prefix}${i.toString(36)}`);
/** One synthetic distribution: Zipf-like words from a vocabulary, 4–14 words, labels a/b/c. */
const rows = (seed: number, vocab: readonly string[]) => {
  const rng = mulberry32(seed);
  return (): LabelledText => ({
    text: Array.from({ length: 4 + Math.floor(rng() * 11) }, () => vocab[Math.floor(vocab.length * rng() ** 2)]!).join(' '),
    label: ['a', 'b', 'c'][Math.floor(rng() * 3)]!,
  });
};
const texts = (seed: number, vocab: readonly string[]) => {
  const next = rows(seed, vocab);
  return (): string => next().text;
};
const send = async (model: string, n: number, next: () => string, seed: number, version = '1.0.0'): Promise<void> => {
  const rng = mulberry32(seed);
  await bus.publisher.publishMany('predictions', Array.from({ length: n }, () => makeEvent('predictions', {
    source: '/flywheel/serving/itest', subject: model,
    data: { predictionId: randomUUID() as never, modelVersion: ModelVersion.parse(version), variant: 'champion', text: next(), label: ['a', 'b', 'c'][Math.floor(rng() * 3)]!, confidence: 0.5 + 0.5 * rng(), latencyMs: 2 },
  })));
};
const bytes = (x: string): Uint8Array => new TextEncoder().encode(x);
/** Stores a version with its training snapshot in S3 and registers it (as the trainer and the CLI do). */
const storeVersion = async (model: string, version: string, snapshot: readonly LabelledText[]) => {
  const m = ModelName.parse(model);
  const v = ModelVersion.parse(version);
  const artifact = await artifacts.writeVersion({
    model: m, version: v, baseVersion: 'b0', labels: ['a', 'b', 'c'], metrics: { accuracy: 0.9 },
    adapter: { bytes: bytes('adapter'), manifest: { format: 'test' } },
    state: { 'state.json': bytes('{}'), 'base.bin': bytes('weights') },
    dataset: bytes(snapshot.map((r) => JSON.stringify({ ...r, source: 'original' })).join('\n') + '\n'),
    baseOnnx: () => bytes('onnx'),
  });
  return { model: m, version: v, baseVersion: 'b0', labels: ['a', 'b', 'c'], metrics: { accuracy: 0.9 }, artifact, actor: 'itest', reason: 'itest' };
};
const SNAPSHOT = 2000;
const until = async <T>(what: string, probe: () => T | undefined, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const got = probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};
const reportsOf = (model: string) => reports.filter((r) => r.subject === model);

beforeAll(async () => {
  p = await isolatedPlatform('drift-monitor');
  bus = p.newBus();
  leases = new RetrainLeases(new RedisLocks(p.redis, p.redisPrefix)); // the service's: its REDIS_PREFIX is p.redisPrefix
  registry = new PgRegistry(p.pool);
  await migrateRegistry(p.pool);
  artifacts = new MinioArtifactStore(await p.objectStore());
  // Champions registered before the start: the monitor must read their snapshots at start.
  await registry.registerChampion(await storeVersion(`dm-${run}-a`, '1.0.0', Array.from({ length: SNAPSHOT }, rows(100, words('alpha')))));
  await registry.registerChampion(await storeVersion(`dm-${run}-c`, '1.0.0', Array.from({ length: SNAPSHOT }, rows(101, words('alpha')))));
  // Composed as main.ts composes it, in this file's schema, prefixes and bucket. The registry is
  // this file's own schema: every champion in it is one of this run's models.
  const s3 = p.s3;
  const config = DriftMonitorConfig.parse({
    KAFKA_BROKERS: process.env.KAFKA_BROKERS, POSTGRES_URL: process.env.POSTGRES_URL, REDIS_URL: process.env.REDIS_URL, LOG_LEVEL: 'silent', PORT: '0',
    PG_SCHEMA: p.schema, REDIS_PREFIX: p.redisPrefix, TOPIC_PREFIX: p.topicPrefix,
    S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_BUCKET: s3.bucket,
    ADMIN_TOKEN: 'y'.repeat(16), RETRAIN_LOCK_TTL_MS: '60000', DRIFT_COOLDOWN_MS: '60000',
    REFERENCE_SIZE: String(WINDOW), WINDOW_SIZE: String(WINDOW), WINDOW_MAX_MS: '0', MIN_WINDOW: '50', HASH_BUCKETS: '32', MIN_LABELLED: '50',
  });
  svc = createService({ name: 'drift-itest', config, handleSignals: false });
  await svc.migrate(registryMigrationsDir, 'registry_migrations');
  await svc.migrate(outboxMigrationsDir, 'outbox_migrations');
  await svc.migrate(migrationsDir, 'drift_monitor_migrations');
  await svc.migrate(authMigrationsDir, 'auth_migrations');
  const keyring = await createKeyring({ pool: svc.pool(), adminToken: config.ADMIN_TOKEN, logger: svc.logger });
  svc.onStop(() => keyring.close());
  const relay = createOutboxRelay({ pool: svc.pool(), publisher: svc.bus().publisher, logger: svc.logger, metrics: svc.metrics, lockName: `${config.PG_SCHEMA}.outbox`, source: FLYWHEEL_SOURCES.driftMonitor, idlePollMs: 50 });
  svc.onStop(() => relay.stop());
  const trigger = new RetrainTrigger({
    pool: svc.pool(), leases: new RetrainLeases(new RedisLocks(svc.redis(), config.REDIS_PREFIX)), relay,
    lockTtlMs: config.RETRAIN_LOCK_TTL_MS, cooldownMs: config.DRIFT_COOLDOWN_MS, source: '/flywheel/drift-monitor',
  });
  monitor = createDriftMonitor({
    publisher: svc.bus().publisher, trigger, logger: svc.logger, metrics: createDriftMetrics(svc.metrics), settings: driftSettings(config), source: '/flywheel/drift-monitor',
    snapshots: new RegistryTrainingSnapshots(new PgRegistry(svc.pool()), new MinioArtifactStore(await svc.objectStore())),
  });
  await monitor.watchChampions();
  svc.consume(`dm-${run}`, monitor.handlers);
  svc.routes(adminRoutes({ monitor, keyring }));
  await svc.start();
  relay.start();
  await bus.consume(`dm-${run}-watch`, {
    driftReports: async (e) => { reports.push(e); },
    retrainingTriggers: async (e) => { triggers.push(e); },
  });
});
afterAll(async () => {
  try {
    await svc?.stop();
    await bus?.close();
  } finally {
    await p?.drop();
  }
});

describe('drift-monitor on real Kafka, Redis, PostgreSQL (registry) and S3 (snapshots)', () => {
  it('compares with the training snapshot from the first window: stationary traffic raises no significant drift, a vocabulary shift is significant within one window of 200 events, triggers once through the retraining lock and then respects the cooldown', async () => {
    const model = `dm-${run}-a`;
    const vocabA = words('alpha');
    expect(monitor.status(model)).toMatchObject({ version: '1.0.0', reference: 'training_snapshot', referenceReady: true });
    // Same distribution as the snapshot (other seeds): 2 windows, no reference-building wait.
    await send(model, 2 * WINDOW, texts(1, vocabA), 1);
    const stationary = await until('two stationary reports', () => reportsOf(model)[1] && reportsOf(model).slice(0, 2));
    for (const r of stationary) {
      expect(r.data).toMatchObject({ modelVersion: '1.0.0', predictions: WINDOW, triggeredRetraining: false, reference: 'training_snapshot' });
      expect(r.data.level).not.toBe('significant');
    }
    const first = stationary[0]!;
    expect(first.data.measurements.map((m) => `${m.feature}/${m.test}`)).toEqual(expect.arrayContaining(['hashed_tokens/psi', 'text_length/ks', 'oov_rate/psi', 'oov_rate/ks']));
    // Confidence and predicted labels are compared with the first REFERENCE_SIZE (200) predictions: from the window after them on.
    expect(first.data.measurements.some((m) => m.feature === 'confidence' || m.feature === 'predicted_label')).toBe(false);
    expect(stationary[1]!.data.measurements.map((m) => `${m.feature}/${m.test}`)).toEqual(expect.arrayContaining(['confidence/ks', 'predicted_label/chi_square']));
    // Text thresholds calibrated on the snapshot, with the MMD of hashed n-grams among them.
    expect(first.data.measurements.map((m) => `${m.feature}/${m.test}`)).toContain('text_embedding/mmd');
    // No labels arrived: the window's accuracy is the estimate from calibrated confidences (uniform on [0.5, 1): 0.75), and the rule says so.
    expect(first.data.accuracy).toBeUndefined();
    const accuracy = stationary[1]!.data.accuracy;
    expect(accuracy).toMatchObject({ basis: 'estimated', labelled: 0 });
    expect(accuracy?.realised).toBeUndefined();
    expect(accuracy?.estimated).toBeGreaterThan(0.7);
    expect(accuracy?.estimated).toBeLessThan(0.8);
    expect(accuracy!.estimatedLower).toBeLessThan(accuracy!.estimated);
    expect(monitor.status(model)?.lastAccuracy).toMatchObject({ basis: 'estimated' });
    expect(await svc.metrics.metrics()).toMatch(new RegExp(`flywheel_drift_estimated_accuracy\\{model="${model}",service="drift-itest"\\} 0\\.7`));

    await send(model, WINDOW, texts(3, words('zulu')), 3); // vocabulary shift
    const second = await until('shift report', () => reportsOf(model)[2]);
    expect(second.data).toMatchObject({ level: 'significant', triggeredRetraining: true, reference: 'training_snapshot' });
    const oov = second.data.measurements.find((m) => m.feature === 'oov_rate' && m.test === 'ks');
    expect(oov?.level).toBe('significant');
    expect(oov?.effectSize).toBeGreaterThan(0.5);
    const trigger = await until('retraining trigger', () => triggers.find((t) => t.subject === model));
    expect(trigger.data).toMatchObject({ reason: 'drift', requestedBy: 'drift-monitor' });
    expect(trigger.data.fencingToken).toBe(await leases.holder(model));
    expect(trigger.data.details).toMatchObject({ modelVersion: '1.0.0', oov_rate_ks: oov?.effectSize });
    // Recorded in drift_triggers in the transaction that enqueued it (the cooldown is read from there).
    const recorded = await p.pool.query('SELECT fencing_token::text AS token, event_id FROM drift_triggers WHERE model = $1', [model]);
    expect(recorded.rows).toEqual([{ token: String(trigger.data.fencingToken), event_id: trigger.id }]);

    // The trainer would release the lease; still within the cooldown, the next drifted window does not trigger.
    await leases.release({ model, token: trigger.data.fencingToken });
    await send(model, WINDOW, texts(4, words('zulu')), 4);
    const third = await until('next report', () => reportsOf(model)[3]);
    expect(third.data).toMatchObject({ level: 'significant', triggeredRetraining: false });
    expect(triggers.filter((t) => t.subject === model)).toHaveLength(1);
    const text = await svc.metrics.metrics();
    expect(text).toMatch(new RegExp(`flywheel_drift_triggers_total\\{model="${model}",service="drift-itest"\\} 1`));
    expect(text).toMatch(new RegExp(`flywheel_drift_level\\{model="${model}",service="drift-itest"\\} 2`));
  });

  it('falls back to the first predictions when the registry has no snapshot, says so, and does not trigger while another source (the aggregator) holds the retraining lock', async () => {
    const model = `dm-${run}-b`;
    const held = await leases.acquire(model, 60_000);
    expect(held).toBeDefined();
    await send(model, WINDOW, texts(5, words('alpha')), 5);
    await send(model, WINDOW, texts(6, words('zulu')), 6);
    const report = await until('report', () => reportsOf(model)[0]);
    expect(report.data).toMatchObject({ level: 'significant', triggeredRetraining: false, reference: 'predictions' });
    expect(await leases.holder(model)).toBe(held?.token);
    expect(triggers.filter((t) => t.subject === model)).toHaveLength(0);
  });

  it('on promotion (model-updates) reads the new version snapshot, starts a fresh window and never mixes in late predictions of the old version', async () => {
    const model = `dm-${run}-c`;
    const both = [...words('alpha'), ...words('zulu')];
    await registry.registerChallenger(await storeVersion(model, '1.1.0', Array.from({ length: SNAPSHOT }, rows(102, both))));
    await send(model, 120, texts(20, words('alpha')), 20); // a part-filled window of 1.0.0
    await until('1.0.0 window filling', () => ((monitor.status(model)?.windowSize ?? 0) >= 120 ? true : undefined));
    await registry.promote(ModelName.parse(model), ModelVersion.parse('1.1.0'), 'itest', 'won');
    await bus.publisher.publish('modelUpdates', makeEvent('modelUpdates', {
      source: '/flywheel/ab-router/itest', subject: model, data: { action: 'promoted', version: ModelVersion.parse('1.1.0'), previous: ModelVersion.parse('1.0.0'), reason: 'won' },
    }));
    await until('1.1.0 watched', () => (monitor.status(model)?.version === '1.1.0' ? true : undefined));
    // Stragglers of the old champion with a vocabulary neither version knows: drift if they leaked into a window.
    await send(model, 100, texts(21, words('xray')), 21, '1.0.0');
    // 1.1.0 was trained on both vocabularies: its traffic is no drift.
    await send(model, WINDOW, texts(22, both), 22, '1.1.0');
    const report = await until('1.1.0 report', () => reportsOf(model)[0]);
    expect(reportsOf(model)).toHaveLength(1); // the half-full 1.0.0 window was discarded, not reported
    expect(report.data).toMatchObject({ modelVersion: '1.1.0', predictions: WINDOW, reference: 'training_snapshot', triggeredRetraining: false });
    expect(report.data.level).not.toBe('significant');
    expect(report.data.measurements.find((m) => m.feature === 'oov_rate' && m.test === 'ks')?.level).toBe('none');
  });
});
