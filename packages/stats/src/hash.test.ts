import { describe, expect, it } from 'vitest';
import { fnv1a32, murmur3_32 } from './hash.js';

describe('hashes match published test vectors', () => {
  it('fnv1a32', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('murmur3_32 (x86, 32-bit)', () => {
    expect(murmur3_32('', 0)).toBe(0);
    expect(murmur3_32('', 1)).toBe(0x514e28b7);
    expect(murmur3_32('abc', 0)).toBe(0xb3dd93fa);
    expect(murmur3_32('hello', 0)).toBe(0x248bfa47);
    expect(murmur3_32('The quick brown fox jumps over the lazy dog', 0)).toBe(0x2e4ff723);
  });
});
