import { describe, expect, it } from 'vitest';
import { makeEvent, type EventOf } from '@flywheel/contracts';
import { createLogger, createMetricsRegistry, PoisonMessage } from '@flywheel/runtime';
import { createKafkaBus } from './createKafkaBus.js';

// No broker: an event refused by the envelope check never reaches the producer, so this needs none.
const bus = createKafkaBus({
  brokers: ['127.0.0.1:1'], clientId: 'unit', logger: createLogger({ service: 'unit', level: 'silent' }), metrics: createMetricsRegistry('unit'),
  dedupe: { seen: async (_g, ids) => ids.map(() => false), mark: async () => {} },
});

describe('validatedPublisher', () => {
  it('refuses an event of another topic or schema version as a PoisonMessage, before sending anything', async () => {
    const trigger = makeEvent('retrainingTriggers', { source: '/flywheel/feedback-ingest', subject: 'm', data: { reason: 'manual', details: {}, requestedBy: 'op', fencingToken: 1 as never } });
    const asFeedback = trigger as unknown as EventOf<'feedback'>;
    await expect(bus.validatedPublisher.publishMany('feedback', [asFeedback])).rejects.toBeInstanceOf(PoisonMessage);
    const olderVersion = { ...trigger, schemaversion: 0 } as unknown as EventOf<'retrainingTriggers'>;
    await expect(bus.validatedPublisher.publish('retrainingTriggers', olderVersion)).rejects.toThrow(/not a retraining\.requested\.v1 v1/);
  });
});
