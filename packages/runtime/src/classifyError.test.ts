import { describe, expect, it } from 'vitest';
import { classifyError, isRetriable } from './classifyError.js';
import { Conflict, DependencyDown, PoisonMessage } from './errors.js';

const pgError = (code: string) => Object.assign(new Error(`pg ${code}`), { code });

describe('classifyError', () => {
  it('keeps a FlywheelError as it is', () => {
    const e = new Conflict('taken');
    expect(classifyError(e)).toBe(e);
  });

  it('makes PostgreSQL data errors poison (a NUL byte, a constraint) and outages retriable', () => {
    expect(classifyError(pgError('22021'))).toBeInstanceOf(PoisonMessage);
    expect(classifyError(pgError('23505'))).toBeInstanceOf(PoisonMessage);
    expect(classifyError(pgError('57P01'))).toBeInstanceOf(DependencyDown);
    expect(classifyError(pgError('08006'))).toBeInstanceOf(DependencyDown);
    expect(classifyError(pgError('40001'))?.retriable).toBe(true);
  });

  it('makes socket errors and 5xx answers retriable', () => {
    expect(classifyError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))?.retriable).toBe(true);
    expect(classifyError(Object.assign(new Error('s3'), { statusCode: 503 }))?.retriable).toBe(true);
    expect(classifyError(new Error('Connection terminated unexpectedly'))?.retriable).toBe(true);
  });

  it('leaves a bug unclassified (the caller bounds its retries)', () => {
    expect(classifyError(new TypeError('x is undefined'))).toBeUndefined();
    expect(isRetriable(new TypeError('x'))).toBe(true);
    expect(isRetriable(pgError('22P02'))).toBe(false);
  });

  it('derives retriable and the HTTP status from the kind alone', () => {
    expect(new DependencyDown('down').retriable).toBe(true);
    expect(new PoisonMessage('bad').retriable).toBe(false);
    expect(new Conflict('x', { reason: 'retraining_in_progress', details: { a: 1 } })).toMatchObject({ kind: 'conflict', reason: 'retraining_in_progress', details: { a: 1 } });
  });
});
