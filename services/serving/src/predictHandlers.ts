import { z } from 'zod';
import { safeString, Text } from '@flywheel/contracts';
import { toHttpError } from '@flywheel/http';
import type { PredictionAnswer, Predictor } from './createPredictor.js';
import type { LoadFailure } from './ModelLoadFailures.js';
import type { ModelDescription } from './modelViews.js';
import type { ServingMetrics } from './servingMetrics.js';

/** Most rows in one batch request. */
export const MAX_BATCH = 256;
/** Most top-k entries an answer may ask for (the `predictions` schema caps it too). */
export const MAX_TOP_K = 50;

const SubjectId = safeString('subjectId').min(1, 'subjectId must not be empty').max(200, 'subjectId is at most 200 characters');
const TopK = z.number().int().min(1, 'topK is at least 1').max(MAX_TOP_K, `topK is at most ${MAX_TOP_K}`);

/** Body of POST /v1/models/:model/predict. */
export const PredictRequest = z.object({ text: Text, subjectId: SubjectId.optional(), topK: TopK.optional() });
export type PredictRequest = z.infer<typeof PredictRequest>;

/** Body of POST /v1/models/:model/predict:batch (also /predict/batch). */
export const BatchPredictRequest = z.object({
  items: z
    .array(z.object({ text: Text, subjectId: SubjectId.optional() }))
    .min(1, 'items must hold at least one row')
    .max(MAX_BATCH, `a batch holds at most ${MAX_BATCH} items; split larger inputs into several requests`),
  topK: TopK.optional(),
});
export type BatchPredictRequest = z.infer<typeof BatchPredictRequest>;

/** What the model routes read about served models. */
export interface ModelDirectory {
  models(): string[];
  describe(model: string): ModelDescription | undefined;
  ready(): boolean;
  /** Models that failed to load (and are being retried), with the reason. */
  loadFailures(): LoadFailure[];
}

/**
 * The predict endpoints without their transport: parse the body, predict, count errors. Both the
 * express routes and the node:http fast path call these, so they answer identically.
 */
export const createPredictHandlers = (deps: { predict: Predictor; directory: ModelDirectory; metrics: ServingMetrics }) => {
  // Unknown model names share one label so that a scan cannot blow up the metric's cardinality.
  const countError = (model: string, err: unknown): void => {
    const code = toHttpError(err).body.error.code;
    deps.metrics.errors.inc({ model: deps.directory.models().includes(model) ? model : '(unknown)', code });
  };
  return {
    /** `client`: the API client's name, logged with each prediction. */
    async single(model: string, rawBody: unknown, client: string): Promise<PredictionAnswer> {
      try {
        const body = PredictRequest.parse(rawBody);
        const [answer] = await deps.predict(model, [{ text: body.text, subjectId: body.subjectId }], { topK: body.topK, client });
        return answer as PredictionAnswer;
      } catch (err) {
        countError(model, err);
        throw err;
      }
    },
    async batch(model: string, rawBody: unknown, client: string): Promise<{ model: string; predictions: PredictionAnswer[] }> {
      try {
        const body = BatchPredictRequest.parse(rawBody);
        return { model, predictions: await deps.predict(model, body.items, { topK: body.topK, client }) };
      } catch (err) {
        countError(model, err);
        throw err;
      }
    },
    /** For transport errors (bad JSON, too large) seen before the handlers ran. */
    countError,
  };
};

export type PredictHandlers = ReturnType<typeof createPredictHandlers>;
