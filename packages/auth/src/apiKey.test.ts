import { describe, expect, it } from 'vitest';
import { generateKey, hashKey, keyPrefixOf, presentedKey } from './apiKey.js';

describe('keys', () => {
  it('are fwk_ and 32 random bytes in base64url, different every time', () => {
    const a = generateKey();
    expect(a).toMatch(/^fwk_[A-Za-z0-9_-]{43}$/);
    expect(generateKey()).not.toBe(a);
  });

  it('hash to hex SHA-256 and show only a 12-character prefix', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const key = generateKey();
    expect(keyPrefixOf(key)).toBe(key.slice(0, 12));
  });
});

describe('presentedKey', () => {
  it('reads Authorization: Bearer first, then X-Api-Key', () => {
    expect(presentedKey({ authorization: 'Bearer fwk_a' })).toBe('fwk_a');
    expect(presentedKey({ authorization: 'bearer   fwk_a ' })).toBe('fwk_a');
    expect(presentedKey({ 'x-api-key': ' fwk_b ' })).toBe('fwk_b');
    expect(presentedKey({ authorization: 'Bearer fwk_a', 'x-api-key': 'fwk_b' })).toBe('fwk_a');
  });

  it('finds nothing in other schemes, empty values or absurdly long ones', () => {
    expect(presentedKey({})).toBeUndefined();
    expect(presentedKey({ authorization: 'Basic dXNlcjpwYXNz' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': 'k'.repeat(513) })).toBeUndefined();
  });
});
