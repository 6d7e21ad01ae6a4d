import { describe, expect, it } from 'vitest';
import { makeEvent, topics } from '@flywheel/contracts';
import { decode } from './decode.js';

describe('decode', () => {
  const schema = topics.retrainingTriggers.schema;
  it('accepts a valid envelope', () => {
    const e = makeEvent('retrainingTriggers', { source: '/t', subject: 'm', data: { reason: 'manual', details: {}, requestedBy: 'op', fencingToken: 1 as never } });
    const d = decode(schema, Buffer.from(JSON.stringify(e)));
    expect(d.ok).toBe(true);
  });
  it('explains non-JSON, empty and invalid values', () => {
    expect(decode(schema, Buffer.from('{oops'))).toMatchObject({ ok: false, reason: expect.stringMatching(/not JSON/) });
    expect(decode(schema, null)).toMatchObject({ ok: false, reason: expect.stringMatching(/empty/) });
    const bad = decode(schema, Buffer.from(JSON.stringify({ specversion: '1.0' })));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.reason).toMatch(/id: Required/);
  });
});
