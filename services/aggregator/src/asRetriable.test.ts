import { describe, expect, it } from 'vitest';
import { DependencyDown, PoisonMessage } from '@flywheel/runtime';
import { asRetriable } from './asRetriable.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('asRetriable', () => {
  it('dead-letters data the database refuses (class 22 and 23) instead of retrying it forever', () => {
    for (const code of ['22021', '22003', '23505']) {
      const e = asRetriable(pgError(code));
      expect(e, code).toBeInstanceOf(PoisonMessage);
      expect((e as PoisonMessage).retriable).toBe(false);
    }
  });
  it('retries an outage and anything it cannot classify', () => {
    expect(asRetriable(pgError('57P01'))).toBeInstanceOf(DependencyDown);
    expect(asRetriable(new Error('something odd'))).toBeInstanceOf(DependencyDown);
  });
});
