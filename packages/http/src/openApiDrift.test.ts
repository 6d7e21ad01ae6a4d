import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { documentedRoutes, openApiFileDrift, registeredRoutes } from './index.js';

describe('openApiFileDrift', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-drift-'));
  const file = join(dir, 'openapi.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds nothing when the file is what the schemas render', () => {
    writeFileSync(file, '{\n  "a": 1\n}\n');
    expect(openApiFileDrift(file, '{\n  "a": 1\n}\n', 'pnpm gen:openapi')).toBeUndefined();
  });

  it('names the first differing line and the command that regenerates the file', () => {
    writeFileSync(file, '{\n  "a": 1\n}\n');
    const drift = openApiFileDrift(file, '{\n  "a": 2\n}\n', 'pnpm gen:openapi');
    expect(drift).toContain('line 2');
    expect(drift).toContain('"  \\"a\\": 2"');
    expect(drift).toContain('pnpm gen:openapi');
  });

  it('reports a document that only grew at the end', () => {
    writeFileSync(file, '{}');
    expect(openApiFileDrift(file, '{}\n', 'x')).toContain('<end>');
  });
});

describe('registeredRoutes and documentedRoutes', () => {
  it('writes express parameters in OpenAPI form, one entry per method', () => {
    const app = express();
    app.get('/v1/models/:model', () => undefined);
    app.post('/v1/models/:model/predict\\:batch', () => undefined);
    app.route('/v1/x').get(() => undefined).delete(() => undefined);
    expect(registeredRoutes(app).sort()).toEqual(['delete /v1/x', 'get /v1/models/{model}', 'get /v1/x', 'post /v1/models/{model}/predict:batch']);
  });

  it('lists every operation of a document', () => {
    expect(documentedRoutes({ paths: { '/a': { get: {}, post: {} }, '/b/{id}': { delete: {} } } }).sort()).toEqual(['delete /b/{id}', 'get /a', 'post /a']);
  });
});
