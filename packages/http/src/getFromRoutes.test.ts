import type { Express } from 'express';
import { describe, expect, it } from 'vitest';
import { getFromRoutes } from './index.js';

describe('getFromRoutes', () => {
  it('answers what the registered route sends, and 404 for a path it lacks', async () => {
    const routes = (app: Express): void => {
      app.get('/doc', (_req, res) => { res.type('application/json').send('{"ok":true}'); });
    };
    expect(await getFromRoutes(routes, '/doc')).toEqual({ status: 200, contentType: expect.stringMatching(/^application\/json/), body: '{"ok":true}' });
    expect((await getFromRoutes(routes, '/other')).status).toBe(404);
  });
});
