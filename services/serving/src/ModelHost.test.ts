import type { ModelUpdated } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { ModelHost } from './ModelHost.js';
import { FakeClassifier, FakeEngine, FakeRouting, FakeSource, quietLogger, table, testMetrics } from './testing/fakes.js';

const setup = (graceMs = 0) => {
  const source = new FakeSource();
  const engine = new FakeEngine();
  const routing = new FakeRouting();
  const { registry, metrics } = testMetrics();
  const host = new ModelHost({ source, engine, routing, metrics, logger: quietLogger(), releaseGraceMs: graceMs });
  return { source, engine, routing, registry, host };
};
const u = (x: unknown) => x as ModelUpdated;
const until = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('ModelHost', () => {
  it('starts on the registry champion at 100 % when Redis has no routing table', async () => {
    const { host } = setup();
    await host.start('m');
    const s = host.snapshot('m');
    expect(s?.champion.version).toBe('1.0.0');
    expect(s?.challenger).toBeUndefined();
    expect(s?.routing.challengerShareBps).toBe(0);
    expect(host.ready()).toBe(true);
  });

  it('starts on the cached routing table when there is one, challenger included', async () => {
    const { host, routing } = setup();
    routing.table = table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 2500, revision: 4 });
    await host.start('m');
    expect(host.snapshot('m')?.challenger?.version).toBe('1.0.1');
    expect(host.snapshot('m')?.routing.revision).toBe(4);
  });

  it('keeps a model without a champion known but not ready', async () => {
    const { host, source } = setup();
    source.champ = undefined;
    await host.start('m');
    expect(host.knows('m')).toBe(true);
    expect(host.snapshot('m')).toBeUndefined();
    expect(host.ready()).toBe(false);
    await host.apply('m', u({ action: 'promoted', version: '1.0.3', reason: 'first' }));
    expect(host.snapshot('m')?.champion.version).toBe('1.0.3');
  });

  it('loads a registered challenger without routing to it until a routing table names it', async () => {
    const { host, source } = setup();
    await host.start('m');
    await host.apply('m', u({ action: 'challenger_registered', version: '1.0.1', artifact: {}, metrics: {} }));
    expect(host.snapshot('m')?.challenger).toBeUndefined();
    expect(host.describe('m')?.standby).toEqual(['1.0.1']);
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, revision: 2 }) }));
    expect(host.snapshot('m')?.challenger?.version).toBe('1.0.1');
    expect(source.loads.filter((v) => v === '1.0.1')).toHaveLength(1); // reused, not loaded twice
  });

  it('ignores a routing table older than the one it holds', async () => {
    const { host } = setup();
    await host.start('m');
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, revision: 5 }) }));
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challengerShareBps: 0, revision: 3 }) }));
    expect(host.snapshot('m')?.routing.revision).toBe(5);
    expect(host.snapshot('m')?.challenger?.version).toBe('1.0.1');
  });

  it('promotes, rolls back and rejects: the named version becomes champion at 100 %, and an old table cannot undo it', async () => {
    const { host } = setup();
    await host.start('m');
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, revision: 2 }) }));
    await host.apply('m', u({ action: 'promoted', version: '1.0.1', previous: '1.0.0', reason: 'won' }));
    expect(host.snapshot('m')?.champion.version).toBe('1.0.1');
    expect(host.snapshot('m')?.challenger).toBeUndefined();
    // a late redelivery of the experiment's table must not bring the old split back
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, revision: 2 }) }));
    expect(host.snapshot('m')?.champion.version).toBe('1.0.1');
    await host.apply('m', u({ action: 'rolled_back', version: '1.0.0', from: '1.0.1', reason: 'errors', automatic: true }));
    expect(host.snapshot('m')?.champion.version).toBe('1.0.0');
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.2', challengerShareBps: 500, revision: 3 }) }));
    expect(host.snapshot('m')?.challenger?.version).toBe('1.0.2');
    await host.apply('m', u({ action: 'rejected', version: '1.0.2', reason: 'worse' }));
    expect(host.snapshot('m')?.challenger).toBeUndefined();
    expect(host.snapshot('m')?.champion.version).toBe('1.0.0');
  });

  it('keeps serving the previous state when a load fails, and applies later updates', async () => {
    const { host } = setup();
    await host.start('m');
    await expect(host.apply('m', u({ action: 'promoted', version: '9.0.0', reason: 'x' }))).rejects.toThrow(/corrupt/);
    expect(host.snapshot('m')?.champion.version).toBe('1.0.0');
    await host.apply('m', u({ action: 'promoted', version: '1.0.4', reason: 'ok' }));
    expect(host.snapshot('m')?.champion.version).toBe('1.0.4');
  });

  it('starts the other models when one cannot be loaded, and loads that one on a retry once it is repaired', async () => {
    const source = new FakeSource();
    const { registry, metrics } = testMetrics();
    const host = new ModelHost({ source, engine: new FakeEngine(), routing: new FakeRouting(), metrics, logger: quietLogger(), loadRetry: { baseMs: 10, capMs: 20 } });
    source.champions.set('bad', '9.0.0'); // FakeBase refuses 9.x adapters as corrupt
    await Promise.all([host.start('good'), host.start('bad')]);
    expect(host.snapshot('good')?.champion.version).toBe('1.0.0');
    expect(host.snapshot('bad')).toBeUndefined();
    expect(host.loadFailure('bad')).toMatchObject({ model: 'bad', reason: expect.stringMatching(/corrupt/) });
    expect(host.loadFailures().map((f) => f.model)).toEqual(['bad']);
    expect(host.ready()).toBe(true); // a broken model does not take the replica out of rotation
    expect(await registry.metrics()).toMatch(/flywheel_serving_model_load_failures_total\{[^}]*model="bad"[^}]*\} [1-9]/);
    source.champions.set('bad', '1.0.7'); // re-registered
    await until(() => host.snapshot('bad') !== undefined);
    expect(host.snapshot('bad')?.champion.version).toBe('1.0.7');
    expect(host.loadFailure('bad')).toBeUndefined();
    expect(host.describe('bad')?.loadFailure).toBeUndefined();
    await host.close();
  });

  it('lets a request that captured the old snapshot finish on it, then releases the old version and its base', async () => {
    const { host, engine } = setup(0);
    await host.start('m');
    const old = host.snapshot('m')!;
    const clf = old.champion.classifier as FakeClassifier;
    let open!: () => void;
    clf.gate = new Promise((r) => (open = r));
    // the request path: capture, count in flight, run
    old.champion.inFlight++;
    const inFlight = clf.predictRaw(['x']).finally(() => old.champion.inFlight--);
    await host.apply('m', u({ action: 'promoted', version: '2.0.0', reason: 'new base' }));
    expect(host.snapshot('m')?.champion.version).toBe('2.0.0');
    await new Promise((r) => setTimeout(r, 60));
    expect(host.describe('m')?.loaded).toContain('1.0.0'); // still held: a request is running on it
    expect(engine.bases[0]?.released).toBe(false);
    open();
    await inFlight;
    await until(() => engine.bases[0]?.released === true);
    expect(host.describe('m')?.loaded).toEqual(['2.0.0']);
    expect(engine.bases[1]?.released).toBe(false);
  });

  it('exposes loaded versions and swap durations as metrics', async () => {
    const { host, registry } = setup();
    await host.start('m');
    await host.apply('m', u({ action: 'routing_changed', routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: 1000, revision: 2 }) }));
    const text = await registry.metrics();
    expect(text).toMatch(/flywheel_serving_loaded_versions\{[^}]*model="m",version="1.0.1",role="challenger"/);
    expect(text).toMatch(/flywheel_serving_swap_duration_seconds_count\{[^}]*model="m",action="routing_changed"[^}]*\} 1/);
  });
});
