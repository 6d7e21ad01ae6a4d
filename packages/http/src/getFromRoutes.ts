import express, { type Express } from 'express';
import { listen } from './createHttpApp.js';

/** What one GET answered: status, Content-Type and body text. */
export interface GetAnswer {
  status: number;
  contentType: string | null;
  body: string;
}

/**
 * Registers `routes` on a bare express app (no auth, no middleware), serves it on a free port of
 * 127.0.0.1, GETs `path` once and closes the server: for tests of what one route answers.
 */
export const getFromRoutes = async (routes: (app: Express) => void, path: string): Promise<GetAnswer> => {
  const app = express();
  routes(app);
  const served = await listen(app, 0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${served.port}${path}`);
    return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
  } finally {
    await served.close();
  }
};
