import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ModelName, Variant } from '@flywheel/contracts';
import type { PredictionAnswer as PredictionAnswerType } from './createPredictor.js';
import type { clientModelView } from './modelViews.js';
import { BatchPredictRequest, MAX_BATCH, MAX_TOP_K, PredictRequest } from './predictHandlers.js';

/*
 * Requests are documented from the very schemas the handlers parse with. Answers are built in code
 * (createPredictor, modelViews), so their schemas live here, and the type checks below fail the
 * build when one drifts from the type the handler returns.
 */
const LabelProbability = z.object({ label: z.string(), probability: z.number().min(0).max(1) });
const PredictionAnswer = z.object({
  predictionId: z.string().describe('Quote it in feedback (POST /v1/feedback on feedback-ingest) to say whether the label was right.'),
  label: z.string(),
  confidence: z.number().min(0).max(1),
  modelVersion: z.string(),
  variant: Variant.describe('champion, or challenger while an A/B experiment routes this subject to it.'),
  topK: z.array(LabelProbability).optional().describe('The k most probable labels, most probable first; only when topK was asked for.'),
});
const BatchAnswer = z.object({ model: z.string(), predictions: z.array(PredictionAnswer).describe('In request order.') });
const ClientModelView = z.object({
  model: z.string(),
  ready: z.boolean(),
  champion: z.object({ version: z.string(), labels: z.array(z.string()) }).optional(),
});
const ModelView = ClientModelView.passthrough().describe('With the `admin` scope the view also shows routing, challenger, loaded versions and load failures.');
const ModelList = z.object({ models: z.array(ModelView) });
const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), issues: z.array(z.unknown()).optional(), details: z.unknown().optional() }),
});
const Health = z.object({ status: z.literal('ok'), service: z.string() });
const Readiness = z.object({ status: z.enum(['ready', 'not ready']), checks: z.record(z.string()), details: z.record(z.unknown()).optional() });
const ModelParam = z.object({ model: ModelName });

// Compile-time: the documented answers are the handlers' answers (the model view by its fields).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Optional fields as zod infers them (`x?: T | undefined`) and as interfaces write them (`x?: T`) compare equal. */
type Fields<T> = { [K in keyof T]-?: Exclude<T[K], undefined> };
const documented: [
  Same<Fields<z.infer<typeof PredictionAnswer>>, Fields<PredictionAnswerType>>,
  Same<keyof z.infer<typeof ClientModelView>, keyof ReturnType<typeof clientModelView>>,
] = [true, true];
void documented;

const json = <S extends z.ZodTypeAny>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });
const auth = {
  401: json(ErrorBody, 'No API key (Authorization: Bearer <key> or X-Api-Key).'),
  403: json(ErrorBody, 'The key lacks the `predict` scope.'),
};
const predictErrors = {
  400: json(ErrorBody, 'The body failed validation (`error.issues` lists every zod issue) or is not JSON.'),
  ...auth,
  404: json(ErrorBody, 'The model is not served here.'),
  411: json(ErrorBody, 'A chunked body on a route whose limit is below the batch limit: send a Content-Length.'),
  413: json(ErrorBody, 'The body is larger than the route accepts.'),
  429: json(ErrorBody, "The client's rate limit is spent; Retry-After says when to try again."),
  503: json(ErrorBody, 'The model is loading or failed to load; Retry-After says when to try again.'),
};

/** The OpenAPI 3.1 document of serving's REST API, built from the zod schemas its routes parse with. */
export const openApiDocument = (): object => {
  // Parameters need zod's .openapi(); this patches zod's prototype, so only the generator does it.
  extendZodWithOpenApi(z);
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', description: 'An API key with the `predict` scope (flywheel keys create), or ADMIN_TOKEN.' });
  r.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'The same key in a header.' });
  const security = [{ bearer: [] }, { apiKey: [] }];
  r.registerPath({
    method: 'post', path: '/v1/models/{model}/predict', summary: 'Predict the label of one text', security,
    description: `The A/B router's routing table decides champion or challenger per subjectId (a random subject without one). topK: at most ${MAX_TOP_K}.`,
    request: { params: ModelParam, body: { required: true, content: { 'application/json': { schema: PredictRequest } } } },
    responses: { 200: json(PredictionAnswer, 'The prediction, logged to the predictions topic.'), ...predictErrors },
  });
  for (const path of ['/v1/models/{model}/predict:batch', '/v1/models/{model}/predict/batch']) {
    r.registerPath({
      method: 'post', path, summary: `Predict up to ${MAX_BATCH} texts in one request`, security,
      request: { params: ModelParam, body: { required: true, content: { 'application/json': { schema: BatchPredictRequest } } } },
      responses: { 200: json(BatchAnswer, 'One prediction per item, in request order.'), ...predictErrors },
    });
  }
  r.registerPath({
    method: 'get', path: '/v1/models', summary: 'The models served here', security,
    responses: { 200: json(ModelList, 'Every served model with its champion.'), ...auth },
  });
  r.registerPath({
    method: 'get', path: '/v1/models/{model}', summary: 'One served model', security,
    request: { params: ModelParam },
    responses: { 200: json(ModelView, 'Whether it answers, and its champion.'), ...auth, 404: json(ErrorBody, 'The model is not served here.') },
  });
  r.registerPath({ method: 'get', path: '/healthz', summary: 'Liveness (no key)', responses: { 200: json(Health, 'The process answers.') } });
  r.registerPath({
    method: 'get', path: '/readyz', summary: 'Readiness (no key)',
    responses: { 200: json(Readiness, 'Every model has a champion or failed to load (details.models.failed names those).'), 503: json(Readiness, 'A dependency is not ready yet.') },
  });
  r.registerPath({ method: 'get', path: '/openapi.json', summary: 'This document (no key)', responses: { 200: { description: 'OpenAPI 3.1.' } } });
  return new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Flywheel serving', version: '1.0.0', description: "Predictions from each model's champion, or its challenger for the subjects an A/B experiment routes to it." },
  });
};

/** The file content of openapi.json, stable so a test can compare it. */
export const renderOpenApi = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
