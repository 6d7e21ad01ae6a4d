import { afterEach, describe, expect, it } from 'vitest';
import { armFailpoints, failpoint, parseFailpoints } from './failpoints.js';
import { ConfigError, DependencyDown } from './errors.js';

describe('failpoints', () => {
  afterEach(() => { armFailpoints(undefined); });

  it('parses names, actions, skips and counts', () => {
    const m = parseFailpoints('a.b=exit; c-d=2+1*throw ;e=3*stop;f=off');
    expect(m.get('a.b')).toEqual({ action: 'exit', skip: 0, times: Infinity });
    expect(m.get('c-d')).toEqual({ action: 'throw', skip: 2, times: 1 });
    expect(m.get('e')).toEqual({ action: 'stop', skip: 0, times: 3 });
    expect(m.get('f')?.action).toBe('off');
  });

  it('refuses an unreadable spec with a message naming the part', () => {
    expect(() => parseFailpoints('a=explode')).toThrow(ConfigError);
    expect(() => parseFailpoints('=exit')).toThrow(/cannot read "=exit"/);
  });

  it('does nothing when unarmed or for another name', () => {
    expect(() => failpoint('x')).not.toThrow();
    armFailpoints('y=throw');
    expect(() => failpoint('x')).not.toThrow();
  });

  it('throw fires after the skipped hits, at most N times', () => {
    armFailpoints('p=1+2*throw');
    const fired = [0, 1, 2, 3].map(() => { try { failpoint('p'); return false; } catch (e) { return e instanceof DependencyDown; } });
    expect(fired).toEqual([false, true, true, false]);
  });
});
