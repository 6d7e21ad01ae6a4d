import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '@flywheel/contracts';
import { isolatedPlatform, type IsolatedPlatform } from '@flywheel/testing';
import { TrainingExample, type TrainingExamplesQuery } from './httpSchemas.js';
import { PgTrainingExamples } from './trainingExamples.js';
import { ADMIN, createKey, registerModel, startIngest, type StartedIngest } from './testPlatform.js';

let p: IsolatedPlatform;
let ingest: StartedIngest;
const model = `te-${randomUUID().slice(0, 8)}`;
const ids = { confirmedThenCorrected: randomUUID(), correctedThenThumbs: randomUUID(), oldConfident: randomUUID(), newConfident: randomUUID(), unsure: randomUUID(), withFeedback: randomUUID() };
let seq: Record<string, number> = {};

const post = async (name: string, body: Record<string, unknown>, key = ADMIN): Promise<void> => {
  const r = await fetch(`${ingest.base}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model, text: `text of ${name}`, ...body }) });
  expect(r.status, `feedback ${name} accepted`).toBe(202);
  seq = { ...seq, [name]: ((await r.json()) as { sequence: number }).sequence };
};
const predict = (predictionId: string, label: string, confidence: number, at: string) =>
  ingest.projection.onPrediction(makeEvent('predictions', { source: '/t', subject: model, time: new Date(at), data: { predictionId: predictionId as never, modelVersion: '1.0.0' as never, variant: 'champion', text: `prediction ${predictionId}`, label, confidence, latencyMs: 1 } }));
const read = async (query: string, headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` }) =>
  fetch(`${ingest.base}/internal/v1/models/${model}/training-examples?${query}`, { headers });
const lines = async (r: Response) => (await r.text()).split('\n').filter((l) => l !== '').map((l) => TrainingExample.parse(JSON.parse(l)));

beforeAll(async () => {
  p = await isolatedPlatform('ingest-examples');
  ingest = await startIngest(p);
  await registerModel(ingest, model, ['billing', 'shipping', 'returns', 'refunds', 'account']);
  await predict(ids.confirmedThenCorrected, 'billing', 0.97, '2024-01-01T00:00:00Z');
  await predict(ids.correctedThenThumbs, 'billing', 0.96, '2024-01-01T00:01:00Z');
  await predict(ids.oldConfident, 'shipping', 0.99, '2024-01-01T00:02:00Z');
  await predict(ids.newConfident, 'returns', 0.95, '2024-01-01T00:03:00Z');
  await predict(ids.unsure, 'billing', 0.5, '2024-01-01T00:04:00Z');
  await predict(ids.withFeedback, 'billing', 0.99, '2024-01-01T00:05:00Z');
  await post('confirm', { predictionId: ids.confirmedThenCorrected, kind: 'confirmation' });
  await post('correct', { predictionId: ids.confirmedThenCorrected, kind: 'misclassification', correctLabel: 'refunds' });
  await post('correct2', { predictionId: ids.correctedThenThumbs, kind: 'misclassification', correctLabel: 'shipping' });
  await post('thumbs', { predictionId: ids.correctedThenThumbs, kind: 'thumbs_down' });
  await post('thumbsOnly', { predictionId: ids.withFeedback, kind: 'thumbs_up' });
  await post('free', { kind: 'misclassification', predictedLabel: 'billing', correctLabel: 'account' });
  await post('late', { kind: 'confirmation', predictedLabel: 'billing' });
  // A standard client (an end user) reports after the watermark of the first test.
  await post('enduser', { kind: 'misclassification', predictedLabel: 'billing', correctLabel: 'refunds' }, await createKey(ingest, `te-enduser-${model}`, ['feedback'], 'standard'));
}, 60_000);
afterAll(async () => {
  await ingest?.svc.stop();
  await p?.drop();
});

describe('GET /internal/v1/models/{model}/training-examples', () => {
  it('answers the latest teaching word per prediction up to the watermark, then confident unlabelled predictions newest first', async () => {
    const r = await read(`watermark=${seq.free}&pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=10`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const got = await lines(r);
    const human = got.filter((e) => e.source !== 'pseudo_label');
    expect(human.map((e) => [e.text, e.label, e.source]).sort()).toEqual([
      [`text of correct`, 'refunds', 'human_correction'],
      [`text of correct2`, 'shipping', 'human_correction'],
      [`text of free`, 'account', 'human_correction'],
    ].sort());
    expect(human.every((e) => e.group.startsWith('feedback:') && e.confidence === undefined)).toBe(true);
    // Pseudo-labels after the feedback, newest first; predictions with any feedback or low confidence are left out.
    expect(got.slice(human.length).map((e) => [e.label, e.source, e.confidence, e.group])).toEqual([
      ['returns', 'pseudo_label', 0.95, `prediction:${ids.newConfident}`],
      ['shipping', 'pseudo_label', 0.99, `prediction:${ids.oldConfident}`],
    ]);
  });

  it('includes feedback past the watermark when none is given, caps pseudo-labels, and pages the same as one read', async () => {
    const all = await lines(await read('pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=1'));
    expect(all.filter((e) => e.source === 'confirmation').map((e) => [e.text, e.label])).toEqual([['text of late', 'billing']]);
    expect(all.filter((e) => e.source === 'pseudo_label').map((e) => e.label)).toEqual(['returns']);
    const q: TrainingExamplesQuery = { pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 1 };
    const paged: unknown[] = [];
    for await (const page of new PgTrainingExamples(p.pool, 2).stream(model, q)) paged.push(...page);
    expect(paged).toEqual(all);
    expect(await lines(await read('pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=0'))).toEqual(all.filter((e) => e.source !== 'pseudo_label'));
  });

  it('says who supplied each row: trusted clients, or standard (standard clients and pseudo-labels), so the trainer never judges on the latter', async () => {
    const all = await lines(await read('pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=10'));
    const trustOf = (text: string) => all.find((e) => e.text === text)?.trust;
    expect(trustOf('text of enduser')).toBe('standard');
    expect(all.find((e) => e.text === 'text of enduser')).toMatchObject({ label: 'refunds', source: 'human_correction' });
    // The admin token is the built-in trusted client.
    for (const name of ['correct', 'correct2', 'free', 'late']) expect(trustOf(`text of ${name}`), name).toBe('trusted');
    const pseudo = all.filter((e) => e.source === 'pseudo_label');
    expect(pseudo.length).toBeGreaterThan(0);
    expect(pseudo.every((e) => e.trust === 'standard')).toBe(true);
  });

  it('with a limit, answers a sample bounded by it that the same seed repeats exactly, in pages or in one read', async () => {
    const q = 'pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=0';
    const everything = (await lines(await read(q))).map((e) => e.text).sort();
    expect(everything).toHaveLength(5);
    const first = await read(`${q}&limit=3&seed=job-1`);
    // Six feedback groups; the thumbs-up alone teaches nothing, so five examples.
    expect(first.headers.get('flywheel-examples-available')).toBe('6');
    const sample = await lines(first);
    expect(sample).toHaveLength(3);
    expect(everything).toEqual(expect.arrayContaining(sample.map((e) => e.text)));
    expect(await lines(await read(`${q}&limit=3&seed=job-1`))).toEqual(sample);
    const paged: unknown[] = [];
    for await (const page of new PgTrainingExamples(p.pool, 2).stream(model, { pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 0, limit: 3, seed: 'job-1' })) paged.push(...page);
    expect(paged).toEqual(sample);
    // A limit above what there is returns all of it; other seeds draw other samples.
    expect((await lines(await read(`${q}&limit=100&seed=job-1`))).map((e) => e.text).sort()).toEqual(everything);
    const drawn = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const texts = (await lines(await read(`${q}&limit=4&seed=other-${i}`))).map((e) => e.text);
      // Half the limit is the newest feedback, whatever the seed; the other half a seeded draw.
      expect(texts).toEqual(expect.arrayContaining(['text of enduser', 'text of late']));
      drawn.add(texts.sort().join('|'));
    }
    expect(drawn.size).toBeGreaterThan(1);
  });

  it('needs an admin key and a valid query', async () => {
    expect((await read('pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=1', {})).status).toBe(401);
    expect((await read('pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=1', { authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);
    const bad = await read('pseudoLabelMinConfidence=2&pseudoLabelMaxRows=-1');
    expect(bad.status).toBe(400);
    const paths = ((await bad.json()) as { error: { issues: { path: string[] }[] } }).error.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['pseudoLabelMinConfidence', 'pseudoLabelMaxRows']));
  });
});
