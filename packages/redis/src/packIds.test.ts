import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { packIds } from './RedisDedupe.js';

/** The layout the Redis scripts read: 2-byte big-endian length, then the id's bytes. */
const unpack = (b: Buffer): string[] => {
  const out: string[] = [];
  for (let pos = 0; pos < b.length; ) {
    const len = b.readUInt16BE(pos);
    out.push(b.subarray(pos + 2, pos + 2 + len).toString('hex'));
    pos += 2 + len;
  }
  return out;
};

describe('packIds', () => {
  it('packs a UUID as its 16 bytes and any other id as its UTF-8 bytes, each behind its length', () => {
    const id = randomUUID();
    const packed = packIds([id, 'é-x', id.toUpperCase()]);
    expect(packed.length).toBe(2 + 16 + 2 + 4 + 2 + 16);
    expect(unpack(packed)).toEqual([id.replaceAll('-', ''), Buffer.from('é-x').toString('hex'), id.replaceAll('-', '')]);
  });

  it('packs 36-character ids that are not UUIDs as their UTF-8 bytes, whole', () => {
    const notUuids = ['x'.repeat(36), 'é'.repeat(36), `${randomUUID().slice(0, 32)}zzzz`, randomUUID().replaceAll('-', '_'), '😀'.repeat(18)];
    expect(unpack(packIds(notUuids))).toEqual(notUuids.map((id) => Buffer.from(id).toString('hex')));
    const ids = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? `id-${i}` : randomUUID()));
    expect(unpack(packIds(ids))).toEqual(ids.map((id) => (id.length === 36 ? id.replaceAll('-', '') : Buffer.from(id).toString('hex'))));
  });

  it('refuses an id longer than its 2-byte length can say', () => {
    expect(() => packIds(['x'.repeat(70_000)])).toThrow(/too long to dedupe/);
  });
});
