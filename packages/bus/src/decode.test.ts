import { describe, expect, it } from 'vitest';
import { createTrustCheck, FLYWHEEL_SOURCES, makeEvent, topics } from '@flywheel/contracts';
import { compileCheck } from './compiledCheck.js';
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

describe('decode with the compiled check', () => {
  const schema = topics.predictions.schema;
  const compiled = compileCheck(schema);
  const prediction = (data: Record<string, unknown>) =>
    Buffer.from(JSON.stringify({ ...makeEvent('predictions', { source: FLYWHEEL_SOURCES.serving, subject: 'm', data: { predictionId: '1f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3921' as never, modelVersion: '1.0.0' as never, variant: 'champion', text: 't', label: 'a', confidence: 0.5, latencyMs: 1 } }), data: { predictionId: '1f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3921', modelVersion: '1.0.0', variant: 'champion', text: 't', label: 'a', confidence: 0.5, latencyMs: 1, ...data } }));
  it('gives what zod gives for valid, trimmed and refused values, with zod wording the refusal', () => {
    for (const data of [{}, { label: ' a ' }, { label: 'a\u0000' }, { confidence: 2 }, { extra: 1 }]) {
      const bytes = prediction(data);
      expect(decode(schema, bytes, createTrustCheck(), compiled)).toStrictEqual(decode(schema, bytes, createTrustCheck()));
    }
    expect(decode(schema, prediction({ confidence: 2 }), undefined, compiled)).toMatchObject({ ok: false, reason: expect.stringMatching(/data\.confidence: Number must be less than or equal to 1/) });
  });
});
