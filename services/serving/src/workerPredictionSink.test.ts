import { describe, expect, it } from 'vitest';
import type { PredictionRecord } from './PredictionLog.js';
import { quietLogger } from './testing/fakes.js';
import { workerPredictionSink } from './workerPredictionSink.js';

const rec = (text: string): PredictionRecord => ({
  model: 'm', predictionId: '00000000-0000-4000-8000-000000000001', modelVersion: '1.0.0', variant: 'champion',
  subjectId: undefined, experimentId: undefined, text, label: 'a', confidence: 0.5, topK: undefined, latencyMs: 1, time: Date.now(),
});

describe('workerPredictionSink', () => {
  it('resolves acknowledged batches, rejects failed ones and those of a worker that died, and starts a new worker', async () => {
    const sink = workerPredictionSink({
      url: new URL('./testing/fakePublishWorker.ts', import.meta.url), logger: quietLogger(),
      data: { brokers: [], clientId: 't', topicPrefix: '', security: { KAFKA_TLS: false }, source: '/t', logLevel: 'silent' },
    });
    try {
      await expect(sink.send([rec('ok')])).resolves.toBeUndefined();
      await expect(sink.send([rec('fail')])).rejects.toThrow(/broker down/);
      await expect(sink.send([rec('crash')])).rejects.toThrow(/exited \(code 3\)/);
      await expect(sink.send([rec('ok again')])).resolves.toBeUndefined();
    } finally {
      await sink.close?.();
    }
    await expect(sink.send([rec('late')])).rejects.toThrow(/closed/);
  });
});
