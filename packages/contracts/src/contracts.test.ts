import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isBuiltEvent, jsonSchemas, makeEvent, renderSchema, topics, topicKeys } from './index.js';

const fid = '6f1c1f1e-9a55-4b0e-8a8c-2f4a5b6c7d8e';

describe('envelopes', () => {
  it('builds a CloudEvents envelope that its topic schema accepts', () => {
    const e = makeEvent('feedback', {
      source: '/test',
      subject: 'support-urgency',
      data: { feedbackId: fid as never, text: 'my parcel is late', kind: 'misclassification', predictedLabel: 'low', correctLabel: 'high' },
    });
    expect(e.specversion).toBe('1.0');
    expect(e.type).toBe('feedback.received.v1');
    expect(e.subject).toBe('support-urgency');
    expect(topics.feedback.schema.safeParse(JSON.parse(JSON.stringify(e))).success).toBe(true);
  });

  it('marks what it built for its topic only, frozen so the mark stays true (publishers skip a second parse)', () => {
    const e = makeEvent('feedback', { source: '/test', subject: 'news', data: { feedbackId: fid, kind: 'confirmation', text: 'a kettle', predictedLabel: 'kitchen' } as never });
    expect(isBuiltEvent('feedback', e)).toBe(true);
    expect(isBuiltEvent('predictions', e), 'another topic').toBe(false);
    expect(isBuiltEvent('feedback', { ...e }), 'a copy was never parsed').toBe(false);
    expect(isBuiltEvent('feedback', JSON.parse(JSON.stringify(e))), 'nor a decoded one').toBe(false);
    expect(() => { (e.data as { text: string }).text = '\u0000'; }).toThrow(TypeError);
    expect(e.data.text).toBe('a kettle');
  });

  it('refuses a misclassification without a correct label, naming the field', () => {
    const r = topics.feedback.schema.safeParse({
      specversion: '1.0', id: fid, source: '/x', type: 'feedback.received.v1', time: new Date().toISOString(),
      subject: 'm', datacontenttype: 'application/json', schemaversion: 1,
      data: { feedbackId: fid, text: 'a', kind: 'misclassification' },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.'))).toContain('data.correctLabel');
  });

  it('refuses a bad model name and an unknown event type', () => {
    const base = { specversion: '1.0', id: fid, source: '/x', time: new Date().toISOString(), datacontenttype: 'application/json', schemaversion: 1 };
    const data = { reason: 'manual', details: {}, requestedBy: 'op', fencingToken: 3 };
    expect(topics.retrainingTriggers.schema.safeParse({ ...base, type: 'retraining.requested.v1', subject: 'Bad Name', data }).success).toBe(false);
    expect(topics.retrainingTriggers.schema.safeParse({ ...base, type: 'retraining.requested.v2', subject: 'ok', data }).success).toBe(false);
    expect(topics.retrainingTriggers.schema.safeParse({ ...base, type: 'retraining.requested.v1', subject: 'ok', data }).success).toBe(true);
  });

  it('discriminates model updates by action', () => {
    const ok = makeEvent('modelUpdates', {
      source: '/t', subject: 'm',
      data: { action: 'routing_changed', routing: { champion: '1.0.0' as never, challenger: '1.0.1' as never, challengerShareBps: 1000, salt: 's', revision: 1 } },
    });
    expect(ok.data.action).toBe('routing_changed');
    expect(() => makeEvent('modelUpdates', { source: '/t', subject: 'm', data: { action: 'promoted' } as never })).toThrow();
  });
});

describe('shadow answers (optional fields: older producers and consumers keep working)', () => {
  const prediction = { predictionId: fid, modelVersion: '1.0.0', variant: 'champion', text: 't', label: 'a', confidence: 0.8, latencyMs: 2 };
  const envelope = (data: unknown) => ({
    specversion: '1.0', id: fid, source: '/x', type: 'prediction.made.v1', time: new Date().toISOString(), subject: 'm', datacontenttype: 'application/json', schemaversion: 1, data,
  });

  it('accepts a prediction with and without the shadow version\'s answer, and refuses a malformed one', () => {
    expect(topics.predictions.schema.safeParse(envelope(prediction)).success).toBe(true);
    expect(topics.predictions.schema.safeParse(envelope({ ...prediction, shadow: { modelVersion: '1.0.1', label: 'b', confidence: 0.6, experimentId: fid } })).success).toBe(true);
    const bad = topics.predictions.schema.safeParse(envelope({ ...prediction, shadow: { modelVersion: 'latest', label: 'b', confidence: 2 } }));
    expect(bad.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['data.shadow.confidence', 'data.shadow.modelVersion']);
  });

  it('accepts a routing table that names a shadow version', () => {
    const e = makeEvent('modelUpdates', {
      source: '/t', subject: 'm',
      data: { action: 'routing_changed', routing: { champion: '1.0.0' as never, challengerShareBps: 0, salt: 's', revision: 2, shadow: '1.0.1' as never, shadowExperimentId: fid as never } },
    });
    expect(e.data.action === 'routing_changed' && e.data.routing.shadow).toBe('1.0.1');
  });
});

describe('JSON Schema files', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas');
  it('has one current file per topic (run `pnpm --filter @flywheel/contracts gen:schemas` if this fails)', () => {
    const schemas = jsonSchemas();
    expect(Object.keys(schemas).sort()).toEqual(topicKeys.map((k) => topics[k].name).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      expect(readFileSync(join(dir, `${name}.json`), 'utf8'), `${name}.json is stale`).toBe(renderSchema(schema));
    }
  });
});

describe('input hygiene: control characters are refused with the field named', () => {
  it('refuses NUL and other C0 characters in text, labels, ids and names; keeps tab and newline in text', async () => {
    const { FeedbackEvent } = await import('./index.js').then((m) => ({ FeedbackEvent: m.topics.feedback.schema }));
    const base = { specversion: '1.0', id: '8f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3921', source: '/t', type: 'feedback.received.v1', subject: 'm', time: new Date().toISOString(), datacontenttype: 'application/json', schemaversion: 1 };
    const data = { feedbackId: '1f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3921', kind: 'misclassification', text: 'a\tb\nc', predictedLabel: 'x', correctLabel: 'y' };
    const ok = FeedbackEvent.safeParse({ ...base, data });
    const bad = (patch: Record<string, unknown>) => FeedbackEvent.safeParse({ ...base, data: { ...data, ...patch } });
    const nulText = bad({ text: 'a\u0000b' });
    const nulLabel = bad({ correctLabel: 'y\u0000' });
    const escLabel = bad({ correctLabel: 'y\u001b[31m' });
    const nulReporter = bad({ reporter: 'r\u0000' });
    const nulSource = FeedbackEvent.safeParse({ ...base, source: '/a\u0000', data });
    if (!ok.success) throw new Error(JSON.stringify(ok.error.issues));
    for (const r of [nulText, nulLabel, escLabel, nulReporter, nulSource]) expect(r.success).toBe(false);
    expect(nulText.success ? '' : nulText.error.issues[0]?.message).toMatch(/text must not contain control characters/);
    expect(nulLabel.success ? [] : nulLabel.error.issues[0]?.path).toContain('correctLabel');
  });
});
