import { describe, expect, it } from 'vitest';
import { ZodError, ZodOptional, type ZodTypeAny } from 'zod';
import { FeedbackReceived, topics } from '@flywheel/contracts';
import type { Pool } from '@flywheel/postgres';
import { PgFeedbackStore } from './feedbackStore.js';
import { FeedbackItem } from './httpSchemas.js';
import type { LabelBook } from './labelBook.js';

const unwrap = (s: ZodTypeAny | undefined): ZodTypeAny | undefined => (s instanceof ZodOptional ? (s.unwrap() as ZodTypeAny) : s);

/**
 * A pool that answers the insert statement as PostgreSQL would (ids in, sequences out, numbered
 * across statements) and keeps what it was sent; a statement holding the text "refused" fails.
 */
const fakePool = () => {
  const sent: { event: unknown; text?: string }[][] = [];
  let sequence = 0;
  const pool = {
    query: async (q: { values: [string] }) => {
      const rows = JSON.parse(q.values[0]) as { id: string; event: unknown; text?: string }[];
      sent.push(rows);
      if (rows.some((r) => r.text === 'refused')) throw new Error('value too long for type character varying(10)');
      return { rows: rows.map((r) => ({ id: r.id, sequence: ++sequence })) };
    },
  };
  return { pool: pool as unknown as Pool, sent };
};
const labels = {} as LabelBook;
const sender = { name: 'acme', scopes: ['feedback'], trust: 'standard', keyId: 'fwk_test' } as const;
const known = new Map([['support-urgency', new Set(['low', 'high'])]]);

describe('PgFeedbackStore builds events from validated items', () => {
  it('the item fields it does not check again are the event schema\'s own', () => {
    // The fast path trusts FeedbackItem.parse for these: they must be the very same schemas.
    const item = FeedbackItem.innerType().shape;
    const data = FeedbackReceived.innerType().shape;
    for (const k of ['modelVersion', 'variant', 'text', 'predictedLabel', 'correctLabel', 'kind', 'metadata'] as const) {
      expect(unwrap(item[k]), k).toBe(unwrap(data[k]));
    }
    expect(item.model).toBe(topics.feedback.schema.shape.subject);
  });

  it('writes events that pass the feedback-events schema unchanged, without parsing them again', async () => {
    const { pool, sent } = fakePool();
    const items = [
      FeedbackItem.parse({ model: 'support-urgency', text: 'late parcel', kind: 'misclassification', predictedLabel: 'low', correctLabel: ' high ', metadata: { ticket: 7 } }),
      FeedbackItem.parse({ model: 'support-urgency', text: 'fine', kind: 'confirmation', predictedLabel: 'low', modelVersion: '1.0.0', variant: 'champion' }),
      FeedbackItem.parse({ model: 'support-urgency', text: 'meh', kind: 'thumbs_down' }),
    ];
    const out = await new PgFeedbackStore(pool, labels).submit(items, { sender, knownLabels: known, pathOf: () => [] });
    expect(out.items.map((i) => i.sequence)).toEqual([1, 2, 3]);
    for (const { event } of sent[0]!) expect(topics.feedback.schema.parse(event)).toEqual(event);
  });

  it('still refuses, with the caller\'s path, what only the event schema catches', async () => {
    const { pool, sent } = fakePool();
    const bad = FeedbackItem.parse({ model: 'support-urgency', text: 'x', kind: 'thumbs_up', reporter: 'bell\u0007' });
    const err = await new PgFeedbackStore(pool, labels)
      .submit([bad], { sender, knownLabels: known, pathOf: (i) => ['items', i] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ZodError);
    expect((err as ZodError).issues[0]?.path).toEqual(['items', 0, 'reporter']);
    expect(sent).toHaveLength(0);
  });
});

describe('PgFeedbackStore merges concurrent single submissions', () => {
  const one = (text: string) => [FeedbackItem.parse({ model: 'support-urgency', text, kind: 'thumbs_down' })];
  const submit = (store: PgFeedbackStore, text: string) => store.submit(one(text), { sender, knownLabels: known, pathOf: () => [] });

  it('writes the submissions of one turn as one statement, and each caller gets only its own row', async () => {
    const { pool, sent } = fakePool();
    const store = new PgFeedbackStore(pool, labels, { maxItems: 200, concurrency: 2 });
    const out = await Promise.all(['a', 'b', 'c'].map((t) => submit(store, t)));
    expect(sent.map((rows) => rows.map((r) => r.text))).toEqual([['a', 'b', 'c']]);
    expect(out.map((o) => o.items.map((i) => i.sequence))).toEqual([[1], [2], [3]]);
    expect(new Set(out.map((o) => o.items[0]?.feedbackId)).size).toBe(3);
  });

  it('writes each submission on its own when a merged statement fails, so only the bad one fails', async () => {
    const { pool, sent } = fakePool();
    const store = new PgFeedbackStore(pool, labels, { maxItems: 200, concurrency: 2 });
    const out = await Promise.allSettled(['a', 'refused', 'c'].map((t) => submit(store, t)));
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(sent.map((rows) => rows.map((r) => r.text))).toEqual([['a', 'refused', 'c'], ['a'], ['refused'], ['c']]);
  });

  it('writes one statement per submission when merging is off (maxItems 1)', async () => {
    const { pool, sent } = fakePool();
    await Promise.all(['a', 'b'].map((t) => submit(new PgFeedbackStore(pool, labels), t)));
    expect(sent).toHaveLength(2);
  });
});
