import { describe, expect, it } from 'vitest';
import { loadConfig, defaultSettings } from './config.js';
import { settingsFor } from './experimentSettings.js';

const env = { KAFKA_BROKERS: 'k:9092', POSTGRES_URL: 'postgres://p@h:5432/db', REDIS_URL: 'redis://h:6379', ADMIN_TOKEN: 'a'.repeat(16) };

describe('experiment settings', () => {
  it('defaults to a 10% sequential experiment with 1,000 outcomes per arm, +2 points to promote and a 1 point guard', () => {
    expect(settingsFor('m', {}, {})).toEqual({ splitBps: 1000, method: 'sequential', alpha: 0.05, minSamplePerArm: 1000, minImprovement: 0.02, maxDegradation: 0.01, tau: 0.0025, srmThreshold: 0.001,
      policy: 'ab', shadowMinPairs: 200, maxForgetting: 0.05, forgettingWhenMissing: 'allow',
    });
  });

  it('sets a promotion policy per model (shadow first) while every other model keeps plain A/B', () => {
    const config = loadConfig({ ...env, EXPERIMENT_OVERRIDES: '{"m":{"policy":"shadow-then-promote","maxForgetting":0.01}}' });
    expect(settingsFor('m', defaultSettings(config), config.EXPERIMENT_OVERRIDES)).toMatchObject({ policy: 'shadow-then-promote', maxForgetting: 0.01 });
    expect(settingsFor('other', defaultSettings(config), config.EXPERIMENT_OVERRIDES).policy).toBe('ab');
    expect(() => loadConfig({ ...env, EXPERIMENT_OVERRIDES: '{"m":{"policy":"shadow-only"}}' })).toThrow(/EXPERIMENT_OVERRIDES/);
  });

  it('layers env defaults, per-model overrides and explicit settings in that order', () => {
    const config = loadConfig({ ...env, MIN_SAMPLE_PER_ARM: '200', TEST_METHOD: 'fixed', EXPERIMENT_OVERRIDES: '{"m":{"splitBps":2000,"minSamplePerArm":50}}' });
    const s = settingsFor('m', defaultSettings(config), config.EXPERIMENT_OVERRIDES, { splitBps: 3000 });
    expect(s).toMatchObject({ method: 'fixed', minSamplePerArm: 50, splitBps: 3000 });
    expect(settingsFor('other', defaultSettings(config), config.EXPERIMENT_OVERRIDES).minSamplePerArm).toBe(200);
    expect(config.EVAL_INTERVAL_MS).toBe(6 * 3600 * 1000);
  });

  it('explains a malformed per-model override', () => {
    expect(() => loadConfig({ ...env, EXPERIMENT_OVERRIDES: '{oops' })).toThrow(/EXPERIMENT_OVERRIDES: must be JSON/);
    expect(() => loadConfig({ ...env, EXPERIMENT_OVERRIDES: '{"m":{"splitBps":0}}' })).toThrow(/EXPERIMENT_OVERRIDES/);
  });
});
