import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadRetryDelayMs, ModelLoadFailures } from './ModelLoadFailures.js';
import { quietLogger, testMetrics } from './testing/fakes.js';

describe('loadRetryDelayMs', () => {
  const policy = { baseMs: 100, capMs: 1_000 };

  it('doubles per failed attempt and stops at the cap', () => {
    const top = () => 1; // the largest jitter: the full delay
    expect([0, 1, 2, 3, 4, 5, 40].map((a) => loadRetryDelayMs(a, policy, top))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('keeps at least half of the delay whatever the jitter', () => {
    expect(loadRetryDelayMs(2, policy, () => 0)).toBe(200);
    for (let i = 0; i < 50; i++) {
      const d = loadRetryDelayMs(3, policy);
      expect(d).toBeGreaterThanOrEqual(400);
      expect(d).toBeLessThanOrEqual(800);
    }
  });
});

describe('ModelLoadFailures', () => {
  afterEach(() => vi.useRealTimers());

  const setup = () => {
    vi.useFakeTimers({ now: 0 });
    const { registry, metrics } = testMetrics();
    const retried: string[] = [];
    const failures = new ModelLoadFailures({ metrics, logger: quietLogger(), policy: { baseMs: 100, capMs: 400 }, retry: (m) => void retried.push(m), random: () => 1 });
    return { registry, retried, failures };
  };

  it('records the reason, counts each attempt and retries with growing delays', async () => {
    const { registry, retried, failures } = setup();
    failures.failed('bad', new Error('manifest.json is missing'));
    expect(failures.get('bad')).toMatchObject({ model: 'bad', reason: 'manifest.json is missing', attempts: 1, nextRetryAt: new Date(100).toISOString() });
    vi.advanceTimersByTime(99);
    expect(retried).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(retried).toEqual(['bad']);
    failures.failed('bad', new Error('still missing'));
    expect(failures.get('bad')).toMatchObject({ attempts: 2, since: new Date(0).toISOString(), nextRetryAt: new Date(300).toISOString() });
    vi.advanceTimersByTime(200);
    expect(retried).toEqual(['bad', 'bad']);
    expect(await registry.metrics()).toMatch(/flywheel_serving_model_load_failures_total\{[^}]*model="bad"[^}]*\} 2/);
  });

  it('forgets a model once it loads and cancels its retry', () => {
    const { retried, failures } = setup();
    failures.failed('bad', new Error('x'));
    failures.failed('other', new Error('y'));
    expect(failures.list().map((f) => f.model)).toEqual(['bad', 'other']);
    failures.loaded('bad');
    vi.advanceTimersByTime(10_000);
    expect(retried).toEqual(['other']);
    expect(failures.get('bad')).toBeUndefined();
    expect(failures.list().map((f) => f.model)).toEqual(['other']);
  });

  it('retries nothing after close', () => {
    const { retried, failures } = setup();
    failures.failed('bad', new Error('x'));
    failures.close();
    vi.advanceTimersByTime(10_000);
    expect(retried).toEqual([]);
  });
});
