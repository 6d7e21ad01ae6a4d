import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonSchemas, makeEvent, renderSchema, topics, topicKeys } from './index.js';

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
