import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';

/** services/serving/openapi.json, the same path from src/ (tests) and dist/ (the image copies the service folder). */
export const openApiFile = join(dirname(fileURLToPath(import.meta.url)), '..', 'openapi.json');

/**
 * GET /openapi.json without a key, like /healthz: the committed document (openApiDocument.test.ts
 * keeps it current), read once, so the running service never loads the generator.
 */
export const openApiRoute = (file: string = openApiFile) => {
  const body = readFileSync(file, 'utf8');
  return (app: Express): void => {
    app.get('/openapi.json', (_req, res) => {
      res.type('application/json').send(body);
    });
  };
};
