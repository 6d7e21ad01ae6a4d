import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorruptData, DependencyDown, Failed } from '@flywheel/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpTrainingData } from './HttpTrainingData.js';
import { TRAIN_SIDE_FROM } from './keepOutOfHeldOut.js';
import { groupPosition } from '@flywheel/learning';

// A stand-in for feedback-ingest's read API: each model name picks an answer.
const row = (i: number, trust: 'trusted' | 'standard') => JSON.stringify({ text: `text ${i}`, label: 'a', source: 'human_correction', group: `feedback:${i}`, trust });
const seen: { url: string; auth: string | undefined }[] = [];
const answers: Record<string, (res: ServerResponse) => void> = {
  good: (res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${row(1, 'trusted')}\n`);
    res.end(`${row(2, 'standard')}\n${JSON.stringify({ text: 'p', label: 'b', source: 'pseudo_label', confidence: 0.95, group: 'prediction:9', trust: 'standard' })}\n`);
  },
  empty: (res) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(),
  capped: (res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'flywheel-examples-available': '250' });
    res.end(`${row(1, 'trusted')}\n${row(2, 'trusted')}\n${JSON.stringify({ text: 'p', label: 'b', source: 'pseudo_label', confidence: 0.95, group: 'prediction:9', trust: 'standard' })}\n`);
  },
  cut: (res) => {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${row(1, 'trusted')}\n{"text":"half`);
    setImmediate(() => res.destroy());
  },
  noNewline: (res) => res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end(`${row(1, 'trusted')}\n${row(2, 'trusted')}`),
  badRow: (res) => res.writeHead(200).end(`${row(1, 'trusted')}\n${JSON.stringify({ text: 'x', label: 'a', source: 'human_correction', group: 'g' })}\n`),
  notJson: (res) => res.writeHead(200).end('not json\n'),
  down: (res) => res.writeHead(503).end('{"error":"starting"}'),
  refused: (res) => res.writeHead(401).end('{"error":{"code":"unauthorized"}}'),
  unknown: (res) => res.writeHead(404).end('{"error":{"code":"not_found"}}'),
};
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    const model = /\/internal\/v1\/models\/([^/]+)\/training-examples/.exec(req.url ?? '')?.[1] ?? '';
    (answers[model] ?? answers.unknown!)(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const data = () => new HttpTrainingData({ baseUrl: base, token: 'admin-token-0123456789' });
const opts = { watermark: 42, pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 7 };
const failure = async (model: string): Promise<unknown> => data().fresh(model, opts).then(() => undefined, (err: unknown) => err);

describe('HttpTrainingData (feedback-ingest read API)', () => {
  it('asks with the admin key and the job settings, and parses every line into examples', async () => {
    const got = await data().fresh('good', opts);
    const last = seen.at(-1)!;
    expect(last.auth).toBe('Bearer admin-token-0123456789');
    expect(new URL(last.url, base).searchParams.toString()).toBe('watermark=42&pseudoLabelMinConfidence=0.9&pseudoLabelMaxRows=7');
    expect(got.map((e) => [e.text, e.label, e.source])).toEqual([['text 1', 'a', 'human_correction'], ['text 2', 'a', 'human_correction'], ['p', 'b', 'pseudo_label']]);
    expect(got[2]?.confidence).toBe(0.95);
    // The trusted row keeps its group; the standard ones are moved to the train side of every split.
    expect(got[0]?.group).toBe('feedback:1');
    for (const e of got.slice(1)) expect(groupPosition(e, 1)).toBeGreaterThanOrEqual(TRAIN_SIDE_FROM);
    expect(await data().fresh('empty', { pseudoLabelMinConfidence: 0.9, pseudoLabelMaxRows: 0 })).toEqual([]);
    expect(new URL(seen.at(-1)!.url, base).searchParams.has('watermark')).toBe(false);
  });

  it('with a row cap, asks for a sample seeded by the model and watermark and says how it was drawn', async () => {
    const capped = new HttpTrainingData({ baseUrl: base, token: 'admin-token-0123456789', maxRows: 2, seed: 'deploy-7' });
    const got = await capped.fresh('capped', opts);
    const q = new URL(seen.at(-1)!.url, base).searchParams;
    expect([q.get('limit'), q.get('seed')]).toEqual(['2', 'deploy-7:capped:42']);
    expect(got).toHaveLength(3);
    // Pseudo-labels have their own cap: rowsRead counts the feedback rows.
    expect(got.sample).toEqual({ maxRows: 2, seed: 'deploy-7:capped:42', rowsAvailable: 250, rowsRead: 2 });
    expect((await data().fresh('good', opts)).sample).toBeUndefined();
  });

  it('treats a body cut off mid-way, a 5xx or no answer as DependencyDown (retriable)', async () => {
    for (const model of ['cut', 'noNewline', 'down']) {
      const err = await failure(model);
      expect(err, model).toBeInstanceOf(DependencyDown);
      expect((err as DependencyDown).retriable, model).toBe(true);
    }
    expect(String(await failure('noNewline'))).toMatch(/cut off after 1 rows/);
    const closed = await new HttpTrainingData({ baseUrl: 'http://127.0.0.1:1', token: 'x'.repeat(16) }).fresh('good', opts).then(() => undefined, (err: unknown) => err);
    expect(closed).toBeInstanceOf(DependencyDown);
  });

  it('refuses a 4xx as Failed and a line that is not a training example as CorruptData (neither retriable)', async () => {
    for (const model of ['refused', 'unknown']) {
      const err = await failure(model);
      expect(err, model).toBeInstanceOf(Failed);
      expect((err as Failed).retriable, model).toBe(false);
    }
    expect(String(await failure('refused'))).toMatch(/HTTP 401.*FEEDBACK_URL and ADMIN_TOKEN/);
    const bad = await failure('badRow');
    expect(bad).toBeInstanceOf(CorruptData);
    expect(String(bad)).toMatch(/line 2 .*trust/);
    expect(await failure('notJson')).toBeInstanceOf(CorruptData);
  });
});
