import { describe, expect, it } from 'vitest';
import { ZodError, ZodOptional, type ZodTypeAny } from 'zod';
import { FeedbackReceived, topics } from '@flywheel/contracts';
import type { Pool } from '@flywheel/postgres';
import { PgFeedbackStore } from './feedbackStore.js';
import { FeedbackItem } from './httpSchemas.js';
import type { LabelBook } from './labelBook.js';

const unwrap = (s: ZodTypeAny | undefined): ZodTypeAny | undefined => (s instanceof ZodOptional ? (s.unwrap() as ZodTypeAny) : s);

/** A pool that answers the insert statement as PostgreSQL would (ids in, sequences out) and keeps what it was sent. */
const fakePool = () => {
  const sent: { event: unknown }[][] = [];
  const pool = {
    query: async (q: { values: [string] }) => {
      const rows = JSON.parse(q.values[0]) as { id: string; event: unknown }[];
      sent.push(rows);
      return { rows: rows.map((r, i) => ({ id: r.id, sequence: i + 1 })) };
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
