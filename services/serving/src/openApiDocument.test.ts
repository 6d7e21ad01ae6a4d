import { readFileSync } from 'node:fs';
import express, { type Express } from 'express';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from './openApiDocument.js';
import { openApiFile, openApiRoute } from './openApiRoute.js';
import { createServingFront } from './servingFront.js';
import { servingRoutes } from './servingRoutes.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>> };

/** `method path` of every route an express app registered, paths in OpenAPI form (`{id}`). */
type Layer = { route?: { path: string; methods: Record<string, boolean> } };
const routesOf = (app: Express): string[] => (app as unknown as { router: { stack: Layer[] } }).router.stack.flatMap((l) => {
  const r = l.route;
  return r ? Object.keys(r.methods).map((m) => `${m} ${r.path.replace(/\/:(\w+)/g, '/{$1}').replace(/\\/g, '')}`) : [];
});
const documented = (doc: Doc): string[] => Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));

describe('openapi.json', () => {
  it('is current with the zod schemas (run `pnpm --filter @flywheel/svc-serving gen:openapi` when this fails)', () => {
    expect(readFileSync(openApiFile, 'utf8')).toBe(renderOpenApi());
  });

  it('documents every route serving registers', () => {
    const app = express();
    servingRoutes({ predict: {} as never, directory: {} as never, metrics: {} as never, keyring: {} as never, limits: {} as never })(app); // registered, never called
    const doc = JSON.parse(renderOpenApi()) as Doc;
    expect(documented(doc).filter((r) => r.includes(' /v1/')).sort()).toEqual(routesOf(app).sort());
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
    const app = express();
    openApiRoute()(app);
    const server = app.listen(0);
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.text()).toBe(readFileSync(openApiFile, 'utf8'));
    } finally {
      server.close();
    }
    // The front answers unauthenticated requests itself (401) unless the path is open; false means "pass on to express".
    const front = createServingFront({ keyring: {} as never, expressLimitBytes: 1 }); // an open path never reaches the keyring
    expect(front({ url: '/openapi.json', headers: {} } as never, {} as never)).toBe(false);
  });
});
