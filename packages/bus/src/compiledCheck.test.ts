import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { topics, topicKeys, type TopicKey } from '@flywheel/contracts';
import { compileCheck, createAjv } from './compiledCheck.js';

// The compiled check may only accept what zod accepts, and then the value must be exactly zod's
// output. Every topic's schema is held to that over valid events and thousands of mutations of them.

const uuid = '8f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3921';
const uuid2 = '1f7e6d5c-4b3a-4210-9f8e-7d6c5b4a3922';
const envelopeOf = (key: TopicKey, data: unknown) => ({
  specversion: '1.0', id: uuid, source: '/flywheel/test', type: topics[key].schema.shape.type.value,
  time: '2026-12-03T10:00:00.123Z', subject: 'news-model', datacontenttype: 'application/json', schemaversion: 1, data,
});

const samples: Record<TopicKey, unknown[]> = {
  predictions: [
    { predictionId: uuid2, modelVersion: '1.2.3', variant: 'champion', text: 'a kettle\twith a\nlid', label: 'kitchen', confidence: 0.8, latencyMs: 2.5 },
    {
      predictionId: uuid2, modelVersion: '1.2.3', variant: 'challenger', subjectId: 'user-7', experimentId: uuid, text: 'ß ünïcödé 😀', label: 'a>>b', confidence: 1,
      topK: [{ label: 'a', probability: 0.5 }, { label: 'b', probability: 0.25 }], oovRate: 0, latencyMs: 0, client: 'shop.web',
      shadow: { modelVersion: '1.3.0', label: 'b', confidence: 0.4, experimentId: uuid2 },
    },
  ],
  feedback: [
    { feedbackId: uuid2, kind: 'misclassification', text: 'a kettle', predictedLabel: 'x', correctLabel: 'y' },
    { feedbackId: uuid2, kind: 'confirmation', text: 'a kettle', predictedLabel: 'x', metadata: { a: 1, b: 'c', d: null, e: true }, sequence: 3, client: 'c1', clientTrust: 'trusted' },
  ],
  retrainingTriggers: [{ reason: 'manual', details: { n: 3, why: 'ops', ok: true }, requestedBy: 'op', note: 'line\none', fencingToken: 4, feedbackWatermark: 10 }],
  trainingStatus: [
    { jobId: uuid2, state: 'running', progress: 0.5 },
    { jobId: uuid2, state: 'succeeded', progress: 1, stage: 'gate', epoch: 2, fencingToken: 1, version: '1.0.1', metrics: { accuracy: 0.9 }, reason: 'done' },
  ],
  modelUpdates: [
    { action: 'promoted', version: '1.1.0', previous: '1.0.0', reason: 'won' },
    { action: 'routing_changed', routing: { champion: '1.0.0', challenger: '1.1.0', challengerShareBps: 1000, salt: 's', experimentId: uuid, revision: 3 } },
  ],
  driftReports: [
    {
      modelVersion: '1.0.0', windowStart: '2026-12-03T10:00:00Z', windowEnd: '2026-12-03T11:00:00+01:00', predictions: 10, labelled: 2,
      measurements: [{ feature: 'oov', test: 'psi', statistic: 0.3, pValue: 0.01, effectSize: 0.2, level: 'warn' }], level: 'warn', triggeredRetraining: false,
      reference: 'predictions', accuracy: { estimated: 0.9, estimatedLower: 0.8, estimatedUpper: 0.95, labelled: 2, basis: 'estimated' },
    },
  ],
};

const replacements: unknown[] = [
  null, 0, -1, 1.5, 2, 1e308, true, [], {}, '', ' ', 'x', ' x', 'x ', '\u00a0x', 'a\u0000b', 'a\tb', 'a\u001fb', 'a\u007fb', 'ß',
  '😀'.repeat(100), '😀'.repeat(101), 'x'.repeat(200), 'x'.repeat(201), 'x'.repeat(20_001),
  uuid.toUpperCase(), `urn:uuid:${uuid}`, `{${uuid}}`, uuid.replaceAll('-', ''),
  '2026-12-03T10:00:00Z', '2026-12-03 10:00:00Z', '2026-12-03t10:00:00z', '2026-12-03T10:00:00+0100', '2026-12-03T10:00:00.123456789+01:00', '2026-12-03', '2026-02-30T10:00:00Z',
  '1.0.0', '01.0.0', '1.0', 'champion', 'misclassification', 'psi', 'news-model', 'News', '/clients/x', 'c1', 'a'.repeat(64),
];

type Path = (string | number)[];
function paths(v: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
function setAt(root: unknown, path: Path, f: (parent: Record<string | number, unknown>, key: string | number) => void): unknown {
  const copy = clone(root);
  let node = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  f(node, path[path.length - 1] as string | number);
  return copy;
}
/** Each sample, then each node replaced by each replacement, deleted, or given unknown keys. */
function* mutations(sample: unknown): Generator<unknown> {
  yield clone(sample);
  for (const path of paths(sample)) {
    if (path.length === 0) continue;
    for (const r of replacements) yield setAt(sample, path, (p, k) => (p[k] = clone(r)));
    yield setAt(sample, path, (p, k) => (Array.isArray(p) ? p.splice(Number(k), 1) : delete p[k]));
  }
  for (const path of paths(sample)) {
    yield setAt(sample, [...path, 'extra'], (p, k) => { if (typeof p === 'object' && p !== null && !Array.isArray(p)) p[k] = 1; });
    // A `__proto__` key as JSON.parse makes it: an own property (not the prototype), with a value
    // each kind of place could accept.
    for (const v of [1, 'x', { polluted: 1 }]) {
      yield setAt(sample, [...path, 'x'], (p) => { if (typeof p === 'object' && p !== null && !Array.isArray(p)) Object.defineProperty(p, '__proto__', { value: v, enumerable: true, writable: true, configurable: true }); });
    }
  }
}

describe('compiled check (ajv in front of zod)', () => {
  const ajv = createAjv();
  for (const key of topicKeys) {
    it(`${key}: accepts only what zod accepts, and then exactly zod's output`, () => {
      const schema = topics[key].schema;
      const check = compileCheck(schema, ajv);
      let accepted = 0;
      let cases = 0;
      for (const data of samples[key]) {
        for (const value of mutations(envelopeOf(key, data))) {
          cases++;
          const byZod = schema.safeParse(clone(value));
          const mine = clone(value);
          if (check?.(mine) !== true) continue;
          accepted++;
          expect(byZod.success, `accepted what zod refuses: ${JSON.stringify(value).slice(0, 300)}`).toBe(true);
          expect(mine).toStrictEqual(byZod.data);
        }
      }
      expect(cases).toBeGreaterThan(100);
      // The topics whose schemas compile must really take the fast path on valid events.
      if (key === 'predictions' || key === 'trainingStatus' || key === 'driftReports' || key === 'retrainingTriggers') expect(accepted).toBeGreaterThan(samples[key].length);
    });
  }

  it('takes every valid prediction event, strips unknown keys as zod does, and leaves refusals to zod', () => {
    const check = compileCheck(topics.predictions.schema, ajv)!;
    for (const data of samples.predictions) expect(check(envelopeOf('predictions', clone(data)))).toBe(true);
    const extra = { ...envelopeOf('predictions', samples.predictions[0]), extra: 1 };
    expect(check(extra)).toBe(true);
    expect('extra' in extra).toBe(false);
    expect(check(envelopeOf('predictions', { ...(samples.predictions[0] as object), label: ' padded ' }))).toBe(false);
    expect(check(envelopeOf('predictions', { ...(samples.predictions[0] as object), text: 'a\u0000b' }))).toBe(false);
  });

  it('never accepts where zod would change or check more than JSON Schema says', () => {
    expect(compileCheck(z.object({ n: z.number().default(1) }), ajv)).toBeUndefined();
    expect(compileCheck(z.object({ s: z.string().transform((x) => x.length) }), ajv)).toBeUndefined();
    const refined = compileCheck(z.object({ s: z.string().refine((x) => x !== 'no').optional() }), ajv)!;
    expect(refined({})).toBe(true);
    expect(refined({ s: 'yes' })).toBe(false);
    const strict = compileCheck(z.object({ o: z.object({ a: z.number() }).strict() }), ajv)!;
    expect(strict({ o: { a: 1 } })).toBe(false);
    const url = compileCheck(z.object({ u: z.string().url() }), ajv)!;
    expect(url({ u: 'https://example.com' })).toBe(false);
    const local = compileCheck(z.object({ t: z.string().datetime({ local: true }) }), ajv)!;
    expect(local({ t: '2026-12-03T10:00:00' })).toBe(false);
    const record = compileCheck(z.object({ m: z.record(z.string(), z.number()) }), ajv)!;
    expect(record({ m: { a: 1 } })).toBe(true);
    expect(record(JSON.parse('{"m": {"__proto__": 1}}'))).toBe(false);
    const trimmed = compileCheck(z.object({ s: z.string().trim().min(1) }), ajv)!;
    expect(trimmed({ s: 'a b' })).toBe(true);
    expect(trimmed({ s: 'a ' })).toBe(false);
  });
});
