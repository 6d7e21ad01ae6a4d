import { readFileSync } from 'node:fs';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { documentedRoutes, getFromRoutes, openApiFileDrift, registeredRoutes } from '@flywheel/http';
import { renderOpenApi } from './openApiDocument.js';
import { openApiFile, openApiRoute } from './openApiRoute.js';
import { createServingFront } from './servingFront.js';
import { servingRoutes } from './servingRoutes.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };

describe('openapi.json', () => {
  it('is current with the zod schemas (run `pnpm --filter @flywheel/svc-serving gen:openapi` when this fails)', () => {
    expect(openApiFileDrift(openApiFile, renderOpenApi(), 'pnpm --filter @flywheel/svc-serving gen:openapi')).toBeUndefined();
  });

  it('documents every route serving registers', () => {
    const app = express();
    servingRoutes({ predict: {} as never, directory: {} as never, metrics: {} as never, keyring: {} as never, limits: {} as never })(app); // registered, never called
    const doc = JSON.parse(renderOpenApi()) as Doc;
    expect(documentedRoutes(doc).filter((r) => r.includes(' /v1/')).sort()).toEqual(registeredRoutes(app).sort());
  });

  it('documents the predict, model and health routes with their error answers', () => {
    const doc = JSON.parse(renderOpenApi()) as Doc;
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/healthz', '/openapi.json', '/readyz', '/v1/models', '/v1/models/{model}', '/v1/models/{model}/predict', '/v1/models/{model}/predict/batch', '/v1/models/{model}/predict:batch',
    ]);
    const predict = doc.paths['/v1/models/{model}/predict']!.post!;
    expect(Object.keys(predict.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '413', '429', '503']));
    // The request body is the handler's own schema: text is required, topK bounded.
    expect(JSON.stringify(predict.requestBody)).toContain('"required":["text"]');
    expect(JSON.stringify(predict.requestBody)).toContain('"maximum":50');
  });

  it('is served at /openapi.json without a key, and the front lets it through', async () => {
    const res = await getFromRoutes(openApiRoute(), '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/application\/json/);
    expect(res.body).toBe(readFileSync(openApiFile, 'utf8'));
    // The front answers unauthenticated requests itself (401) unless the path is open; false means "pass on to express".
    const front = createServingFront({ keyring: {} as never, expressLimitBytes: 1 }); // an open path never reaches the keyring
    expect(front({ url: '/openapi.json', headers: {} } as never, {} as never)).toBe(false);
  });
});
