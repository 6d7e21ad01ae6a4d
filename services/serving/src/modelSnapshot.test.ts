import { describe, expect, it } from 'vitest';
import { routeVariant, type LoadedVersion, type ModelSnapshot } from './modelSnapshot.js';
import { FakeClassifier, table } from './testing/fakes.js';

const loaded = (version: string): LoadedVersion => ({
  model: 'm', version, baseVersion: 'b1', classifier: new FakeClassifier(version), labels: ['a'], loadedAt: new Date(), inFlight: 0,
});
const snap = (share: number, salt = 'exp-1'): ModelSnapshot => ({
  model: 'm', champion: loaded('1.0.0'), challenger: loaded('1.0.1'),
  routing: table({ champion: '1.0.0', challenger: '1.0.1', challengerShareBps: share, salt }), installedAt: new Date(),
});

describe('routeVariant', () => {
  it('sends everyone to the champion when there is no challenger or a 0 % share', () => {
    const s = snap(0);
    expect(routeVariant(s, 'u1').variant).toBe('champion');
    expect(routeVariant({ ...s, challenger: undefined, routing: { ...s.routing, challengerShareBps: 5000 } }, 'u1').variant).toBe('champion');
  });

  it('is sticky: the same subject and salt always get the same arm and version', () => {
    const s = snap(5000);
    for (let i = 0; i < 200; i++) {
      const first = routeVariant(s, `user-${i}`);
      expect(routeVariant(s, `user-${i}`)).toEqual(first);
      expect(first.loaded.version).toBe(first.variant === 'challenger' ? '1.0.1' : '1.0.0');
    }
  });

  it('splits subjects close to the share, and raising the share only moves champion subjects over', () => {
    const ten = snap(1000);
    const thirty = snap(3000);
    let atTen = 0;
    let atThirty = 0;
    for (let i = 0; i < 20_000; i++) {
      const a = routeVariant(ten, `s${i}`).variant === 'challenger';
      const b = routeVariant(thirty, `s${i}`).variant === 'challenger';
      if (a) atTen++;
      if (b) atThirty++;
      if (a) expect(b).toBe(true);
    }
    expect(atTen / 20_000).toBeGreaterThan(0.09);
    expect(atTen / 20_000).toBeLessThan(0.11);
    expect(atThirty / 20_000).toBeGreaterThan(0.28);
    expect(atThirty / 20_000).toBeLessThan(0.32);
  });

  it('reshuffles subjects when the salt changes', () => {
    let same = 0;
    for (let i = 0; i < 2000; i++) if (routeVariant(snap(5000, 'a'), `u${i}`).variant === routeVariant(snap(5000, 'b'), `u${i}`).variant) same++;
    expect(same).toBeGreaterThan(800);
    expect(same).toBeLessThan(1200);
  });
});
