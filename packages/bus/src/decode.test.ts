import { describe, expect, it } from 'vitest';
import { createTrustCheck, FLYWHEEL_SOURCES, makeEvent, topics } from '@flywheel/contracts';
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

describe('decode with the trust check', () => {
  const schema = topics.retrainingTriggers.schema;
  const trust = createTrustCheck();
  const trigger = (source: string, fencingToken: number) =>
    Buffer.from(JSON.stringify(makeEvent('retrainingTriggers', { source, subject: 'm', data: { reason: 'manual', details: {}, requestedBy: 'op', fencingToken: fencingToken as never } })));
  it('refuses a valid envelope from a source that does not own the topic, as an untrusted event', () => {
    expect(decode(schema, trigger('/evil', 1), trust)).toMatchObject({ ok: false, errorClass: 'UntrustedEvent', reason: expect.stringMatching(/^untrusted event: source "\/evil" may not publish on retraining-triggers/) });
  });
  it('refuses a fencing token of 2^53 - 1 from an owner', () => {
    expect(decode(schema, trigger(FLYWHEEL_SOURCES.aggregator, Number.MAX_SAFE_INTEGER), trust)).toMatchObject({ ok: false, errorClass: 'UntrustedEvent', reason: expect.stringMatching(/fencing token 9007199254740991 is beyond the sane bound/) });
  });
  it('passes a genuine trigger, and keeps schema failures poison messages', () => {
    expect(decode(schema, trigger(FLYWHEEL_SOURCES.feedbackIngest, Date.now()), trust).ok).toBe(true);
    expect(decode(schema, Buffer.from('{}'), trust)).toMatchObject({ ok: false, errorClass: 'PoisonMessage' });
  });
});
