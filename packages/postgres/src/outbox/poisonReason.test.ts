import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DependencyDown, PoisonMessage } from '@flywheel/runtime';
import { poisonReason } from './poisonReason.js';

describe('poisonReason', () => {
  it('names the schema issue when the topic schema refuses the event', () => {
    const r = z.object({ data: z.object({ n: z.number() }) }).safeParse({ data: { n: 'x' } });
    expect(r.success).toBe(false);
    expect(poisonReason(r.error)).toMatch(/^schema refused the event: data\.n: Expected number/);
  });

  it('treats PoisonMessage and a too-large record as poison', () => {
    expect(poisonReason(new PoisonMessage('bad envelope'))).toBe('PoisonMessage: bad envelope');
    expect(poisonReason(Object.assign(new Error('too big'), { type: 'MESSAGE_TOO_LARGE' }))).toMatch(/too large/);
  });

  it('keeps retrying outages, including kafkajs errors that call themselves non-retriable', () => {
    expect(poisonReason(new DependencyDown('postgres down'))).toBeUndefined();
    expect(poisonReason(Object.assign(new Error('Connection error: ECONNREFUSED'), { name: 'KafkaJSNumberOfRetriesExceeded', retriable: false }))).toBeUndefined();
    expect(poisonReason('a string')).toBeUndefined();
  });
});
