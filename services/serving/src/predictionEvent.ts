import { SPEC_VERSION, type EventOf } from '@flywheel/contracts';
import type { PredictionRecord } from './PredictionLog.js';

const unit = (x: number): number => Math.min(1, Math.max(0, x));

/** The `predictions` envelope of a record; the bus validates it against the topic schema when it publishes. */
export const predictionEvent = (p: PredictionRecord, source: string): EventOf<'predictions'> => {
  const data: Record<string, unknown> = {
    predictionId: p.predictionId,
    modelVersion: p.modelVersion,
    variant: p.variant,
    text: p.text,
    label: p.label,
    confidence: unit(p.confidence),
    latencyMs: p.latencyMs,
  };
  if (p.subjectId !== undefined) data.subjectId = p.subjectId;
  if (p.experimentId !== undefined) data.experimentId = p.experimentId;
  if (p.client !== undefined) data.client = p.client;
  if (p.shadow !== undefined) {
    data.shadow = {
      modelVersion: p.shadow.modelVersion, label: p.shadow.label, confidence: unit(p.shadow.confidence),
      ...(p.shadow.experimentId !== undefined ? { experimentId: p.shadow.experimentId } : {}),
    };
  }
  if (p.topK !== undefined) data.topK = p.topK.map((t) => ({ label: t.label, probability: unit(t.probability) }));
  return {
    specversion: SPEC_VERSION,
    // The prediction id doubles as the event id, so a re-sent batch is deduplicated downstream.
    id: p.predictionId,
    source,
    type: 'prediction.made.v1',
    time: new Date(p.time).toISOString(),
    subject: p.model,
    datacontenttype: 'application/json',
    schemaversion: 1,
    data,
  } as unknown as EventOf<'predictions'>;
};
