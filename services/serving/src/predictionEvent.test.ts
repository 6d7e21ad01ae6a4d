import { describe, expect, it } from 'vitest';
import { PredictionMade, topics } from '@flywheel/contracts';
import type { PredictionRecord } from './PredictionLog.js';
import { predictionEvent } from './predictionEvent.js';
import { PredictRequest } from './predictHandlers.js';

const full: PredictionRecord = {
  model: 'support-urgency', predictionId: '6f1c2d3e-4b5a-4c6d-8e7f-8091a2b3c4d5', modelVersion: '1.2.0', variant: 'challenger',
  subjectId: 'user-42', experimentId: '0b1c2d3e-4f5a-4b6c-9d7e-8f90a1b2c3d4', client: 'acme', text: 'my parcel is late — again 📦',
  label: 'high', confidence: 0.875, topK: [{ label: 'high', probability: 0.875 }, { label: 'low', probability: 0.125 }], latencyMs: 0.42, time: Date.UTC(2026, 11, 3),
  shadow: { modelVersion: '1.3.0', label: 'low', confidence: 0.51, experimentId: '1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5' },
};

describe('predictionEvent', () => {
  // The publish worker does not run the topic schema again (predictionPublishWorker.ts): what it builds must pass it as built.
  it('builds events that pass the predictions schema unchanged, with and without the optional parts', () => {
    const bare: PredictionRecord = { ...full, subjectId: undefined, experimentId: undefined, client: undefined, topK: undefined, shadow: undefined };
    for (const record of [full, bare, { ...full, confidence: 1.0000001, topK: [{ label: 'high', probability: -1e-9 }] }]) {
      const event = predictionEvent(record, '/flywheel/serving/host-1');
      expect(topics.predictions.schema.parse(event)).toEqual(event);
    }
  });

  it('takes text and subjectId from a request checked by the same rules as the event', () => {
    expect(PredictRequest.shape.text).toBe(PredictionMade.shape.text);
    const subjects = ['', 'a', 'x'.repeat(200), 'x'.repeat(201), 'nul\u0000byte', 'tab\there', ' spaced ', 'émoji 📦'];
    const request = subjects.map((s) => PredictRequest.safeParse({ text: 'hi', subjectId: s }).success);
    const event = subjects.map((s) => PredictionMade.shape.subjectId.safeParse(s).success);
    expect(request).toEqual(event);
    expect(request).toContain(false); // the cases do tell the rules apart
  });
});
