import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { AcceptedItem, BatchAccepted, ErrorBody, FeedbackBatch, FeedbackItem, IdempotencyKey, ManualRetrain, ManualRetrainAccepted, ModelParam, RetrainingStatus, TrainingExample, TrainingExamplesQuery } from './httpSchemas.js';

const json = <S extends z.ZodTypeAny>(schema: S, description: string) => ({ description, content: { 'application/json': { schema } } });
const errors = {
  400: json(ErrorBody, 'The body failed validation; `error.issues` lists every zod issue (for a batch, paths start with items.<index>). Nothing was written.'),
  413: json(ErrorBody, 'The body is larger than the configured limit (BODY_LIMIT, default 4mb).'),
};
const auth = {
  401: json(ErrorBody, 'An API key is configured and none was sent (X-Api-Key).'),
  403: json(ErrorBody, 'The API key is wrong.'),
};
const unknownModel = { 404: json(ErrorBody, 'KNOWN_MODELS is configured and does not list this model. Without KNOWN_MODELS any valid model name is accepted.') };

/** The OpenAPI 3.1 document of the REST API, built from the same zod schemas the routes parse with. */
export const openApiDocument = (): object => {
  // Parameters and headers need zod's .openapi(); this patches zod's prototype, so only the generator does it.
  extendZodWithOpenApi(z);
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'apiKey', { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'Required only when the service has API_KEY configured.' });
  r.registerComponent('securitySchemes', 'adminBearer', { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN of the service.' });
  const headers = z.object({ 'idempotency-key': IdempotencyKey.optional().describe('Same key and same body: the first answer again and nothing written; same key and another body: 409.') });
  r.registerPath({
    method: 'post', path: '/v1/feedback', summary: 'Submit one feedback item', security: [{ apiKey: [] }],
    request: { headers, body: { required: true, content: { 'application/json': { schema: FeedbackItem } } } },
    responses: { 202: json(AcceptedItem, 'Accepted: stored and queued for feedback-events.'), ...errors, ...auth, ...unknownModel, 409: json(ErrorBody, 'Idempotency-Key reused with another body.') },
  });
  r.registerPath({
    method: 'post', path: '/v1/feedback/batch', summary: 'Submit up to 1000 items, all or nothing', security: [{ apiKey: [] }],
    request: { headers, body: { required: true, content: { 'application/json': { schema: FeedbackBatch } } } },
    responses: { 202: json(BatchAccepted, 'Every item accepted, ids in request order.'), ...errors, ...auth, ...unknownModel, 409: json(ErrorBody, 'Idempotency-Key reused with another body.') },
  });
  r.registerPath({
    method: 'get', path: '/v1/models/{model}/retraining', summary: 'Retraining status of a model', security: [{ apiKey: [] }],
    request: { params: ModelParam },
    responses: { 200: json(RetrainingStatus, 'Pending feedback since the last trigger, the rules in force, the last training and the current job.'), 400: errors[400], ...auth, ...unknownModel },
  });
  r.registerPath({
    method: 'post', path: '/v1/admin/models/{model}/retrain', summary: 'Trigger retraining by hand', security: [{ adminBearer: [] }],
    request: { params: ModelParam, body: { required: true, content: { 'application/json': { schema: ManualRetrain } } } },
    responses: {
      202: json(ManualRetrainAccepted, 'The retraining lock was taken and a retraining-triggers event (reason manual) queued.'),
      400: errors[400],
      401: json(ErrorBody, 'No Authorization: Bearer header.'),
      403: json(ErrorBody, 'Wrong admin token.'),
      ...unknownModel,
      409: json(ErrorBody, 'The model is already being retrained; details.holderToken is the lock holder.'),
    },
  });
  r.registerPath({
    method: 'get', path: '/internal/v1/models/{model}/training-examples', summary: 'What a model can learn from now (for the trainer)', security: [{ adminBearer: [] }],
    description: 'Human corrections and confirmations up to the watermark (the latest word on each prediction wins; the label is the one the feedback teaches), '
      + 'then confident predictions without feedback as pseudo-labels, newest first. JSONL: one TrainingExample per line, streamed; '
      + 'a body cut short (the chunked transfer does not end) means the read failed and must be retried.',
    request: { params: ModelParam, query: TrainingExamplesQuery },
    responses: {
      200: { description: 'One TrainingExample per line.', content: { 'application/x-ndjson': { schema: TrainingExample } } },
      400: errors[400],
      401: json(ErrorBody, 'No Authorization: Bearer header.'),
      403: json(ErrorBody, 'Wrong admin token.'),
    },
  });
  return new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'Flywheel feedback-ingest', version: '1.0.0', description: 'How people and systems tell Flywheel what its models got wrong. Accepted feedback is never lost: it is committed with its outbox event before the answer.' },
  });
};

/** The file content of openapi.json, stable so a test can compare it. */
export const renderOpenApi = (): string => `${JSON.stringify(openApiDocument(), null, 2)}\n`;
