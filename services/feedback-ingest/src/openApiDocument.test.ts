import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderOpenApi } from './openApiDocument.js';

describe('openapi.json', () => {
  it('is current with the zod schemas (run `pnpm --filter @flywheel/svc-feedback-ingest gen:openapi` when this fails)', () => {
    const onDisk = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi.json'), 'utf8');
    expect(onDisk).toBe(renderOpenApi());
  });
  it('documents every route with its error answers', () => {
    const doc = JSON.parse(renderOpenApi()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths).sort()).toEqual(['/internal/v1/models/{model}/training-examples', '/v1/admin/models/{model}/retrain', '/v1/feedback', '/v1/feedback/batch', '/v1/models/{model}/retraining']);
    expect(Object.keys(doc.paths['/v1/feedback']!.post!.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '404', '409', '413']));
    expect(Object.keys(doc.paths['/v1/admin/models/{model}/retrain']!.post!.responses)).toEqual(expect.arrayContaining(['401', '403', '409']));
    expect(Object.keys(doc.paths['/internal/v1/models/{model}/training-examples']!.get!.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403']));
  });
});
