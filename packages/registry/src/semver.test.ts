import { describe, expect, it } from 'vitest';
import { bumpVersion, compareSemver } from './semver.js';

describe('bumpVersion', () => {
  it('starts at 1.0.0 and bumps patch for a retrain, minor for new labels, major for a new base', () => {
    expect(bumpVersion(undefined, { labelsAdded: false, newBase: false })).toBe('1.0.0');
    expect(bumpVersion('1.2.3', { labelsAdded: false, newBase: false })).toBe('1.2.4');
    expect(bumpVersion('1.2.3', { labelsAdded: true, newBase: false })).toBe('1.3.0');
    expect(bumpVersion('1.2.3', { labelsAdded: true, newBase: true })).toBe('2.0.0');
  });
  it('orders numerically, not lexically', () => {
    expect(compareSemver('1.10.0', '1.9.9')).toBeGreaterThan(0);
    expect(['1.10.0', '1.2.0', '1.9.1'].sort(compareSemver)).toEqual(['1.2.0', '1.9.1', '1.10.0']);
  });
});
