import { describe, expect, it } from 'vitest';
import { forgettingVerdict } from './forgettingGate.js';

const settings = { maxForgetting: 0.02, whenMissing: 'allow' as const };
const champion = { version: '1.0.0', metrics: { accuracy: 0.8, oldAccuracy: 0.9 } };

describe('forgetting gate', () => {
  it('refuses a challenger that lost more than the margin on the old-class holdout, and says by how much', () => {
    const v = forgettingVerdict({ version: '1.0.1', parentVersion: '1.0.0', metrics: { accuracy: 0.86, forgetting: 0.05 } }, champion, settings);
    expect(v).toMatchObject({ pass: false, basis: 'same_holdout', drop: 0.05, margin: 0.02 });
    expect(v.reason).toMatch(/refused.*5\.00 pts below.*margin 2\.00 pts/);
  });

  it('passes a drop within the margin (the trainer measured both on the same rows)', () => {
    expect(forgettingVerdict({ version: '1.0.1', parentVersion: '1.0.0', metrics: { forgetting: 0.015 } }, champion, settings)).toMatchObject({ pass: true, basis: 'same_holdout' });
    expect(forgettingVerdict({ version: '1.0.1', parentVersion: '1.0.0', metrics: { forgetting: 0.02 } }, champion, settings).pass).toBe(true);
  });

  it('compares each version\'s old-class accuracy when the challenger was not trained from this champion', () => {
    const v = forgettingVerdict({ version: '1.0.2', parentVersion: '0.9.0', metrics: { forgetting: 0, oldAccuracy: 0.85 } }, champion, settings);
    expect(v).toMatchObject({ pass: false, basis: 'holdout_accuracy' });
    expect(v.drop).toBeCloseTo(0.05, 10);
    expect(forgettingVerdict({ version: '1.0.2', metrics: { oldAccuracy: 0.95 } }, champion, settings)).toMatchObject({ pass: true, basis: 'holdout_accuracy' });
  });

  it('without any holdout metric: allows and records it unchecked by default, refuses when configured to', () => {
    const bare = { version: '1.0.1', metrics: { accuracy: 0.9 } };
    expect(forgettingVerdict(bare, { version: '1.0.0', metrics: {} }, settings)).toMatchObject({ pass: true, basis: 'missing', reason: expect.stringMatching(/not checked/) as unknown as string });
    expect(forgettingVerdict(bare, undefined, { ...settings, whenMissing: 'refuse' })).toMatchObject({ pass: false, basis: 'missing' });
  });
});
