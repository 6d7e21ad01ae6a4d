import { describe, expect, it } from 'vitest';
import { RateLimited, Unauthorized } from '@flywheel/runtime';
import { authErrorHeaders, authorize } from './authorize.js';
import type { Client } from './client.js';
import type { Keyring } from './createKeyring.js';

const reader: Client = { name: 'web', scopes: ['predict'], trust: 'standard', keyId: 'fwk_web' };
/** A keyring that knows one key. */
const keyring: Keyring = {
  authenticate: (k) => (k === 'fwk_good' ? reader : undefined),
  refresh: async () => {},
  fresh: () => true,
  close: () => {},
};
const failure = (headers: Record<string, string>, scope: 'predict' | 'feedback'): Unauthorized => {
  try {
    authorize(keyring, headers, scope);
  } catch (err) {
    if (err instanceof Unauthorized) return err;
    throw err;
  }
  throw new Error('authorize let the request through');
};

describe('authorize', () => {
  it('returns the client of a known key holding the scope', () => {
    expect(authorize(keyring, { 'x-api-key': 'fwk_good' }, 'predict')).toBe(reader);
  });

  it('is 401 missing_key without a key, 401 unknown_key with an unknown one, 403 missing_scope with the wrong scope', () => {
    expect(failure({}, 'predict')).toMatchObject({ status: 401, kind: 'unauthorized', reason: 'missing_key' });
    expect(failure({ authorization: 'Bearer fwk_bad' }, 'predict')).toMatchObject({ status: 401, reason: 'unknown_key' });
    const forbidden = failure({ authorization: 'Bearer fwk_good' }, 'feedback');
    expect(forbidden).toMatchObject({ status: 403, kind: 'forbidden', reason: 'missing_scope' });
    expect(forbidden.message).toContain('"feedback"');
  });
});

describe('authErrorHeaders', () => {
  it('adds WWW-Authenticate to 401/403 and Retry-After to 429', () => {
    expect(authErrorHeaders(failure({}, 'predict'))).toEqual({ 'www-authenticate': 'Bearer realm="flywheel"' });
    expect(authErrorHeaders(failure({ 'x-api-key': 'nope' }, 'predict'))['www-authenticate']).toContain('invalid_token');
    expect(authErrorHeaders(failure({ 'x-api-key': 'fwk_good' }, 'feedback'))['www-authenticate']).toContain('insufficient_scope');
    expect(authErrorHeaders(new RateLimited('slow down', { details: { retryAfterSeconds: 7 } }))).toEqual({ 'retry-after': '7' });
    expect(authErrorHeaders(new Error('other'))).toEqual({});
  });
});
