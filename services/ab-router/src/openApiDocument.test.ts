import { readFileSync } from 'node:fs';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { documentedRoutes, getFromRoutes, openApiFileDrift, registeredRoutes } from '@flywheel/http';
import { adminRoutes } from './adminRoutes.js';
import { renderOpenApi } from './openApiDocument.js';
import { openApiFile, openApiRoute } from './openApiRoute.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; parameters?: { name: string }[] }>> };

describe('openapi.json', () => {
  it('is current with the zod schemas (run `pnpm --filter @flywheel/svc-ab-router gen:openapi` when this fails)', () => {
    expect(openApiFileDrift(openApiFile, renderOpenApi(), 'pnpm --filter @flywheel/svc-ab-router gen:openapi')).toBeUndefined();
  });

  it('documents every route the admin API registers, and no other', () => {
    const app = express();
    adminRoutes({} as never, {} as never)(app); // routes are only registered here, never called
    const doc = JSON.parse(renderOpenApi()) as Doc;
    expect(documentedRoutes(doc).filter((r) => r.includes(' /admin/')).sort()).toEqual(registeredRoutes(app).sort());
  });

  it('documents every admin route with its error answers', () => {
    const doc = JSON.parse(renderOpenApi()) as Doc;
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/admin/experiments', '/admin/experiments/{id}', '/admin/experiments/{id}/evaluate', '/admin/experiments/{id}/promote', '/admin/experiments/{id}/stop',
      '/admin/models/{model}/rollback', '/healthz', '/openapi.json', '/readyz',
    ]);
    for (const [path, ops] of Object.entries(doc.paths).filter(([p]) => p.startsWith('/admin/'))) {
      for (const op of Object.values(ops)) expect(Object.keys(op.responses), path).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
    }
    // Bodies and queries are the routes' own schemas: a stop needs a reason; the list filters by state.
    expect(JSON.stringify(doc.paths['/admin/experiments/{id}/stop']!.post!.requestBody)).toContain('"required":["reason"]');
    expect(doc.paths['/admin/experiments']!.get!.parameters?.map((p) => p.name).sort()).toEqual(['limit', 'model', 'state']);
    expect(Object.keys(doc.paths['/admin/models/{model}/rollback']!.post!.responses)).toContain('409');
  });

  it('is served at /openapi.json without a key', async () => {
    const res = await getFromRoutes(openApiRoute(), '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/application\/json/);
    expect(res.body).toBe(readFileSync(openApiFile, 'utf8'));
  });
});
